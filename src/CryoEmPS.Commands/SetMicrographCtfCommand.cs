using System.Globalization;
using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Set-MicrographCtf: attaches a CTF to each piped micrograph, from a RELION STAR or CTFFIND4 file (matched by name, see
/// <see cref="CtfFile.Find"/>) or from -Ctf, and outputs a copy of the micrograph with <see cref="Micrograph.Ctf"/> set
/// (at the micrograph's pixel size) and a "Set-MicrographCtf" step appended; the input is never changed, so the copy is
/// always output (there is no -PassThru: without the output the command would do nothing). Per micrograph, non-terminating:
/// CtfMicrographNotFound, CtfMicrographAmbiguous, CtfPixelSizeMismatch (the CTF's pixel size differs by more than 1 % from
/// the micrograph's; -Force attaches it anyway, at the micrograph's pixel size, with a warning).
/// </summary>
[Cmdlet(VerbsCommon.Set, "MicrographCtf", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(Micrograph))]
public sealed class SetMicrographCtfCommand : CryoEmCmdlet
{
    /// <summary>Largest relative difference of pixel sizes taken as equal.</summary>
    public const double PixelSizeTolerance = 0.01;

    private IReadOnlyList<CtfEntry> _entries = Array.Empty<CtfEntry>();
    private string _file = "";
    private bool _ctffind;
    private int _count;
    private Micrograph? _held;

    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Micrograph[] Micrograph { get; set; } = Array.Empty<Micrograph>();

    /// <summary>A RELION STAR (micrographs_ctf.star) or CTFFIND4 output file.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath")]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    /// <summary>One CTF for every micrograph (New-EmCtf).</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Ctf")]
    [ValidateNotNull]
    public Ctf Ctf { get; set; } = null!;

    /// <summary>Attach the CTF even when its pixel size differs from the micrograph's by more than 1 %.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void BeginProcessing()
    {
        if (ParameterSetName == "Ctf")
        {
            return;
        }
        bool literal = ParameterSetName == "LiteralPath";
        _file = ResolveInputFile(literal ? LiteralPath : Path, literal, "Ctf");
        (_entries, _ctffind) = CtfFileInput.Read(this, _file);
        WriteVerbose($"'{_file}': {(_ctffind ? "CTFFIND4" : "RELION STAR")} file with the CTFs of {_entries.Count} micrographs.");
    }

    protected override void ProcessRecord()
    {
        foreach (var micrograph in Micrograph)
        {
            if (micrograph == null)
            {
                continue;
            }
            _count++;
            if (ParameterSetName == "Ctf")
            {
                Attach(micrograph, Ctf, "the -Ctf given");
                continue;
            }
            var found = CtfFile.Find(_entries, micrograph.FilePath, micrograph.Name);
            if (found.Count == 1)
            {
                Attach(micrograph, found[0].Ctf, $"'{found[0].MicrographName}' of '{_file}'");
            }
            else if (found.Count > 1)
            {
                WriteError(new ErrorRecord(new ArgumentException(
                    $"The micrograph '{Label(micrograph)}' matches {found.Count} entries of '{_file}' " +
                    $"({string.Join(", ", found.Take(5).Select(e => e.MicrographName))}); give each micrograph its full path " +
                    "(Import-Micrograph sets FilePath) so that one entry matches exactly."),
                    "CtfMicrographAmbiguous", ErrorCategory.InvalidData, micrograph));
            }
            else if (_ctffind && _entries.Count == 1 && _count == 1)
            {
                // A one-micrograph CTFFIND4 file and (so far) one micrograph: decided in EndProcessing.
                _held = micrograph;
            }
            else
            {
                ReleaseHeld();
                NotFound(micrograph);
            }
        }
    }

    protected override void EndProcessing()
    {
        if (_held != null && _count == 1)
        {
            var held = _held;
            _held = null;
            WriteWarning($"The CTFFIND4 file '{_file}' describes '{_entries[0].MicrographName}', not '{Label(held)}'; it has one " +
                "micrograph and one micrograph was given, so its CTF is attached to that one.");
            Attach(held, _entries[0].Ctf, $"'{_entries[0].MicrographName}' of '{_file}'");
        }
        ReleaseHeld();
    }

    private void ReleaseHeld()
    {
        if (_held != null)
        {
            var held = _held;
            _held = null;
            NotFound(held);
        }
    }

    private void NotFound(Micrograph micrograph)
        => WriteError(new ErrorRecord(new ItemNotFoundException(
            $"No entry of '{_file}' names the micrograph '{Label(micrograph)}' (tried its FilePath and Name exactly, then the " +
            $"file name, then the file name without extension; the file lists {_entries.Count} micrographs, for example " +
            $"'{_entries[0].MicrographName}'). Check that the file belongs to these micrographs, or attach one CTF with -Ctf."),
            "CtfMicrographNotFound", ErrorCategory.ObjectNotFound, micrograph));

    private static string Label(Micrograph m)
        => !string.IsNullOrEmpty(m.FilePath) ? m.FilePath : !string.IsNullOrEmpty(m.Name) ? m.Name : m.ToString();

    private void Attach(Micrograph micrograph, Ctf ctf, string source)
    {
        double pixelSize = micrograph.PixelSize;
        if (pixelSize > 0 && Math.Abs(ctf.PixelSize - pixelSize) > PixelSizeTolerance * pixelSize)
        {
            string difference = $"The CTF from {source} is for {ctf.PixelSize:0.####} Å/px, but the micrograph '{Label(micrograph)}' " +
                $"has {pixelSize:0.####} Å/px";
            if (micrograph.Steps.Any(s => s.Operation == "Resize-Micrograph"))
            {
                WriteVerbose($"{difference}; it was resized, so the CTF is taken at its pixel size.");
            }
            else if (Force)
            {
                WriteWarning($"{difference}; attached anyway (-Force), at the micrograph's pixel size.");
            }
            else
            {
                WriteError(new ErrorRecord(new ArgumentException($"{difference} (more than 1 % apart). A wrong pixel size moves " +
                    "every Thon ring, so the CTF would be wrong. Check the micrograph's MRC header and the file's optics group; " +
                    "-Force attaches the CTF at the micrograph's pixel size."),
                    "CtfPixelSizeMismatch", ErrorCategory.InvalidData, micrograph));
                return;
            }
        }
        else if (!(pixelSize > 0))
        {
            pixelSize = ctf.PixelSize;
            WriteVerbose($"The micrograph '{Label(micrograph)}' has no pixel size; it takes the CTF's, {pixelSize:0.####} Å/px.");
        }
        if (!ShouldProcess(Label(micrograph), $"Attach {ctf.WithPixelSize(pixelSize)}"))
        {
            return;
        }
        var copy = micrograph.Copy();
        copy.PixelSize = pixelSize;
        copy.Ctf = ctf.WithPixelSize(pixelSize);
        var parameters = new Dictionary<string, string>();
        if (ParameterSetName == "Ctf")
        {
            parameters["Ctf"] = "(" + NewEmCtfText(ctf) + ")";
        }
        else
        {
            parameters["LiteralPath"] = "'" + _file.Replace("'", "''") + "'";
        }
        if (Force)
        {
            parameters["Force"] = "$true";
        }
        copy.Steps.Add(new MicrographStep("Set-MicrographCtf", parameters));
        WriteVerbose($"'{Label(micrograph)}': {copy.Ctf} (from {source}).");
        WriteObject(copy);
    }

    /// <summary>The New-EmCtf command line that makes <paramref name="ctf"/> again (values round-trip exactly).</summary>
    internal static string NewEmCtfText(Ctf ctf)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        return $"New-EmCtf -DefocusU {F(ctf.DefocusU)} -DefocusV {F(ctf.DefocusV)} -DefocusAngle {F(ctf.DefocusAngle)} " +
            $"-Voltage {F(ctf.Voltage)} -SphericalAberration {F(ctf.SphericalAberration)} -AmplitudeContrast {F(ctf.AmplitudeContrast)} " +
            $"-PhaseShift {F(ctf.PhaseShift)} -BFactor {F(ctf.BFactor)} -PixelSize {F(ctf.PixelSize)}";
    }
}
