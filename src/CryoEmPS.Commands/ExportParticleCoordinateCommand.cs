using System.Management.Automation;
using System.Text;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Export-ParticleCoordinate: writes the true particle positions and orientations of simulated micrographs for RELION:
/// one RELION 3.1+ particle STAR file (data_optics with the pixel size, data_particles with _rlnCoordinateX/Y = particle
/// centres in 0-based pixels, rot/tilt/psi in degrees, _rlnMicrographName, _rlnOpticsGroup), or with -PerMicrograph one
/// coordinate file per micrograph in a folder, named as RELION's extraction looks for them, plus the list of them.
/// </summary>
[Cmdlet(VerbsData.Export, "ParticleCoordinate", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(FileInfo))]
public sealed class ExportParticleCoordinateCommand : ExportFileCmdletBase
{
    private readonly List<Micrograph> _all = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Micrograph[] Micrograph { get; set; } = Array.Empty<Micrograph>();

    /// <summary>
    /// The _rlnMicrographName to write (one per micrograph, in order); default: the file Export-Micrograph wrote (or
    /// Import-Micrograph read), relative to the STAR file's folder, else the micrograph's name + ".mrc".
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? MicrographName { get; set; }

    /// <summary>Å per pixel for the data_optics block; default: the micrographs' own pixel size.</summary>
    [Parameter]
    [ValidateRange(1e-6, 1e6)]
    public double PixelSize { get; set; }

    /// <summary>Write one coordinate file per micrograph into the folder -Path (RELION's extraction input) instead of one STAR file.</summary>
    [Parameter]
    public SwitchParameter PerMicrograph { get; set; }

    /// <summary>With -PerMicrograph: the coordinate files are named &lt;micrograph file's base name&gt;_&lt;Suffix&gt;.star.</summary>
    [Parameter]
    [ValidatePattern("^[A-Za-z0-9._-]+$")]
    public string Suffix { get; set; } = "pick";

    protected override void ProcessRecord()
    {
        foreach (var micrograph in Micrograph)
        {
            if (micrograph == null)
            {
                continue;
            }
            if (micrograph.Truth == null)
            {
                Fail(new ArgumentException($"The micrograph '{micrograph.Name}' has no ground truth " +
                    $"(only micrographs made by New-Micrograph have one), so it has no particle coordinates to export."),
                    "MicrographHasNoTruth", ErrorCategory.InvalidData, micrograph);
            }
            _all.Add(micrograph);
        }
    }

    protected override void EndProcessing()
    {
        if (_all.Count == 0)
        {
            return;
        }
        if (MicrographName != null && MicrographName.Length != _all.Count)
        {
            Fail($"-MicrographName has {MicrographName.Length} names but {_all.Count} micrographs were given; " +
                $"give one name per micrograph.",
                "MicrographNameCountMismatch", ErrorCategory.InvalidArgument, MicrographName);
        }
        if (PerMicrograph)
        {
            WritePerMicrograph();
            return;
        }
        string target = SessionState.Path.GetUnresolvedProviderPathFromPSPath(TargetPath);
        string folder = System.IO.Path.GetDirectoryName(target) ?? ".";
        var items = Enumerable.Range(0, _all.Count).Select(i => (_all[i], NameOf(i, folder))).ToList();
        double pixelSize = ResolvePixelSize();
        int particleCount = _all.Sum(micrograph => micrograph.ParticleCount);
        WriteTarget("StarFile", $"Write {particleCount} particle coordinates as a RELION STAR file", stream =>
        {
            using var writer = Writer(stream);
            StarFile.WriteParticleCoordinates(writer, items, pixelSize);
        }, "MicrographHasNoTruth");
    }

    private void WritePerMicrograph()
    {
        string folder = SessionState.Path.GetUnresolvedProviderPathFromPSPath(TargetPath);
        if (!Directory.Exists(folder))
        {
            Fail(new DirectoryNotFoundException($"With -PerMicrograph, -Path is the folder for the coordinate files, but " +
                $"'{folder}' is not a folder. Create it first (New-Item -ItemType Directory)."),
                "StarFileFolderNotFound", ErrorCategory.ObjectNotFound, TargetPath);
        }
        var list = new List<(string Micrograph, string Coordinates)>();
        for (int i = 0; i < _all.Count; i++)
        {
            string name = NameOf(i, folder);
            string stem = System.IO.Path.GetFileNameWithoutExtension(name[(name.IndexOf('@') + 1)..]);
            string file = System.IO.Path.Combine(folder, $"{stem}_{Suffix}.star");
            var micrograph = _all[i];
            if (WriteFileAtomically(file, Force, "StarFile", $"Write the {micrograph.ParticleCount} particles of '{name}'", stream =>
            {
                using var writer = Writer(stream);
                StarFile.WriteMicrographCoordinates(writer, micrograph);
            }))
            {
                list.Add((name, System.IO.Path.GetFileName(file)));
                EmitFile(file);
            }
        }
        if (list.Count == 0)
        {
            return;
        }
        string index = System.IO.Path.Combine(folder, $"coordinate_files_{Suffix}.star");
        if (WriteFileAtomically(index, Force, "StarFile", $"Write the list of {list.Count} coordinate files", stream =>
        {
            using var writer = Writer(stream);
            StarFile.WriteCoordinateFileList(writer, list);
        }))
        {
            EmitFile(index);
        }
    }

    private void EmitFile(string path)
    {
        WriteVerbose($"Wrote '{path}'.");
        if (PassThru)
        {
            WriteObject(InvokeProvider.Item.Get(new[] { path }, true, true), true);
        }
    }

    /// <summary>The micrograph's file relative to <paramref name="folder"/> when it has one, else its name + ".mrc".</summary>
    private string NameOf(int i, string folder)
    {
        if (MicrographName != null)
        {
            return MicrographName[i];
        }
        var micrograph = _all[i];
        if (!string.IsNullOrEmpty(micrograph.FilePath))
        {
            int at = micrograph.FilePath.IndexOf('@');
            string file = micrograph.FilePath[(at + 1)..];
            string relative = System.IO.Path.GetRelativePath(folder, file);
            return at < 0 ? relative : micrograph.FilePath[..(at + 1)] + relative;
        }
        string name = string.IsNullOrEmpty(micrograph.Name)
            ? (_all.Count == 1 ? "micrograph.mrc" : $"micrograph_{i + 1}.mrc")
            : micrograph.Name + ".mrc";
        WriteWarning($"The micrograph '{micrograph.Name}' was not written to (or read from) a file, so _rlnMicrographName is " +
            $"'{name}'. Export it with Export-Micrograph first, or give -MicrographName.");
        return name;
    }

    private double ResolvePixelSize()
    {
        if (PixelSize > 0)
        {
            return PixelSize;
        }
        var known = _all.Select(micrograph => micrograph.PixelSize).Where(p => p > 0).Distinct().ToList();
        if (known.Count == 1 && _all.All(micrograph => micrograph.PixelSize > 0))
        {
            return known[0];
        }
        WriteWarning(known.Count > 1
            ? $"The micrographs have different pixel sizes ({string.Join(", ", known)} Å); data_optics says {known[0]} Å. " +
                "Export one STAR file per pixel size, or give -PixelSize."
            : "The micrographs' pixel size is unknown; data_optics says 1 Å/pixel. Give -PixelSize for the real value.");
        return known.Count > 0 ? known[0] : 1.0;
    }

    private static StreamWriter Writer(Stream stream)
        => new(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
}
