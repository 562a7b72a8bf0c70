using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Export-ParticleCoordinate: writes the true particle positions and orientations of simulated micrographs
/// as a RELION particle STAR file (_rlnCoordinateX/Y = particle centres, 0-based pixels; rot/tilt/psi in degrees).
/// </summary>
[Cmdlet(VerbsData.Export, "ParticleCoordinate", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(FileInfo))]
public sealed class ExportParticleCoordinateCommand : ExportFileCmdletBase
{
    private readonly List<Micrograph> _all = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Micrograph[] Micrograph { get; set; } = Array.Empty<Micrograph>();

    /// <summary>The _rlnMicrographName to write (one per micrograph, in order); default: the micrograph's name + ".mrc".</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? MicrographName { get; set; }

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
        var items = new List<(Micrograph, string)>();
        for (int i = 0; i < _all.Count; i++)
        {
            string name = MicrographName?[i]
                ?? (string.IsNullOrEmpty(_all[i].Name)
                    ? (_all.Count == 1 ? "micrograph.mrc" : $"micrograph_{i + 1}.mrc")
                    : _all[i].Name + ".mrc");
            items.Add((_all[i], name));
        }
        int particleCount = _all.Sum(micrograph => micrograph.ParticleCount);
        WriteTarget("StarFile", $"Write {particleCount} particle coordinates as a RELION STAR file", stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true)
            {
                NewLine = "\n",
            };
            StarFile.WriteParticleCoordinates(writer, items);
        }, "MicrographHasNoTruth");
    }
}
