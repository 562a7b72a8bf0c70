using System.Management.Automation;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Get-PatchSet: partitions micrographs into non-overlapping L×L patches (Section 3.1). All micrographs
/// from the pipeline go into ONE patch set, emitted at the end. Micrographs read as one MPI rank's share
/// (Import-Micrograph -RankShare) make that rank's share of the patch set, which Invoke-ApproxEm joins with the others'.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PatchSet")]
[OutputType(typeof(PatchSet))]
public sealed class GetPatchSetCommand : CryoEmCmdlet
{
    private readonly List<Micrograph> _micrographs = new();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Micrograph[] Micrograph { get; set; } = null!;

    /// <summary>L; defaults to the particle size in the first micrograph's truth.</summary>
    [Parameter(Position = 1)]
    [ValidateRange(1, 4096)]
    public int PatchSize { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var micrograph in Micrograph)
        {
            if (micrograph != null)
            {
                if (InputChecks.NonFinitePixel(micrograph) is string message)
                {
                    Fail(message, "MicrographNotFinite", ErrorCategory.InvalidData, micrograph);
                }
                if (_micrographs.Count > 0 && !Equals(micrograph.RankShare, _micrographs[0].RankShare))
                {
                    Fail($"Micrograph '{micrograph.Name}' is {Share(micrograph)} but '{_micrographs[0].Name}' is " +
                        $"{Share(_micrographs[0])}. A patch set is either this rank's share of the data set (every micrograph read " +
                        "by Import-Micrograph -RankShare) or a whole data set; do not mix them.",
                        "RankShareMixed", ErrorCategory.InvalidArgument, micrograph);
                }
                _micrographs.Add(micrograph);
            }
        }
    }

    private static string Share(Micrograph micrograph)
        => micrograph.RankShare is { } share ? $"{share}'s share (Import-Micrograph -RankShare)" : "not a rank's share";

    protected override void EndProcessing()
    {
        if (_micrographs.Count == 0)
        {
            return;
        }
        int patchSize = PatchSize;
        if (!MyInvocation.BoundParameters.ContainsKey(nameof(PatchSize)))
        {
            patchSize = _micrographs[0].Truth?.ParticleSize ?? 0;
            if (patchSize <= 0)
            {
                Fail("The micrographs carry no particle size (no simulation truth), so the patch size is unknown. " +
                     "Give -PatchSize L, the side of a projection in pixels.",
                     "PatchSizeRequired", ErrorCategory.InvalidArgument, _micrographs[0]);
            }
            WriteVerbose($"Patch size {patchSize} taken from the micrographs' truth.");
        }
        PatchSet? set = null;
        try
        {
            set = PatchExtractor.Extract(_micrographs, patchSize, WriteWarning, CancellationToken);
        }
        catch (PatchSizeTooLargeException ex)
        {
            Fail(ex, "PatchSizeTooLarge", ErrorCategory.InvalidArgument, patchSize);
        }
        catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        WriteVerbose($"{set.Count} patches of {patchSize}x{patchSize} from {_micrographs.Count} micrograph(s); " +
            $"noise variance {set.NoiseVariance:g4}.");
        WriteObject(set);
    }
}
