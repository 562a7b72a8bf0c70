using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Export-Micrograph: writes one micrograph (or all piped micrographs as a stack) to an MRC file, with the
/// noise variance σ² and seed in a header label so Import-Micrograph restores them.
/// </summary>
[Cmdlet(VerbsData.Export, "Micrograph", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(FileInfo))]
public sealed class ExportMicrographCommand : ExportFileCmdletBase
{
    private readonly List<Micrograph> _all = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Micrograph[] Micrograph { get; set; } = Array.Empty<Micrograph>();

    protected override void ProcessRecord() => _all.AddRange(Micrograph.Where(micrograph => micrograph != null));

    protected override void EndProcessing()
    {
        if (_all.Count == 0)
        {
            return;
        }
        var first = _all[0];
        foreach (var micrograph in _all)
        {
            if (micrograph.SizeY != first.SizeY || micrograph.SizeX != first.SizeX)
            {
                Fail($"Micrographs of different sizes ({first.SizeY}x{first.SizeX} and {micrograph.SizeY}x{micrograph.SizeX}) " +
                    $"cannot share one MRC file. Export them to separate files.",
                    "MicrographSizeMismatch", ErrorCategory.InvalidArgument, micrograph);
            }
        }
        if (_all.Count > MrcWriter.MaxMicrographLabels)
        {
            WriteWarning($"{_all.Count} micrographs: only the first {MrcWriter.MaxMicrographLabels} keep their noise variance and seed " +
                $"(an MRC header has 10 labels). Export them to separate files to keep all.");
        }
        string what = _all.Count == 1 ? $"Write {first} as an MRC micrograph" : $"Write {_all.Count} micrographs as an MRC stack";
        string? written = WriteTarget("MrcFile", what, stream => MrcWriter.WriteMicrographs(stream, _all), "MrcInvalidData");
        if (written != null)
        {
            // So Export-ParticleCoordinate names the file that holds the micrograph.
            for (int i = 0; i < _all.Count; i++)
            {
                _all[i].FilePath = _all.Count == 1 ? written : $"{i + 1}@{written}";
            }
        }
    }
}
