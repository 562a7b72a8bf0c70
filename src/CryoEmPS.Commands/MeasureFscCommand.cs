using System.Management.Automation;
using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>Measure-Fsc: the Fourier shell correlation (eq. 34) of an estimate against a reference.</summary>
[Cmdlet(VerbsDiagnostic.Measure, "Fsc", DefaultParameterSetName = "Reference")]
[OutputType(typeof(FscResult))]
public sealed class MeasureFscCommand : CryoEmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Reference")]
    [ValidateNotNull]
    public Volume Reference { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Reference")]
    [ValidateNotNull]
    public Volume Volume { get; set; } = null!;

    /// <summary>Two independent half maps (an ApproxEmResult of -HalfSet binds its HalfVolume): their FSC, read at 0.143 by default.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "HalfMap")]
    [ValidateCount(2, 2)]
    [ValidateNotNull]
    public Volume[] HalfVolume { get; set; } = null!;

    /// <summary>The FSC threshold: 0.5 against a reference, 0.143 between half maps (unless given).</summary>
    [Parameter]
    [ValidateRange(-0.999, 0.999)]
    public double Threshold { get; set; } = 0.5;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "HalfMap")
        {
            Reference = HalfVolume[0];
            Volume = HalfVolume[1];
            if (!MyInvocation.BoundParameters.ContainsKey(nameof(Threshold)))
            {
                Threshold = Core.Reconstruction.ApproxEm.HalfMapThreshold;
            }
        }

        RequireNative();
        if (!Reference.IsCube)
        {
            Fail(new NonCubicVolumeException(Reference), "FscNonCubicVolume", ErrorCategory.InvalidArgument, Reference);
        }
        if (!Volume.IsCube)
        {
            Fail(new NonCubicVolumeException(Volume), "FscNonCubicVolume", ErrorCategory.InvalidArgument, Volume);
        }
        RequireFiniteVolume(Reference, "reference");
        RequireFiniteVolume(Volume, "volume");
        if (Reference.Size != Volume.Size)
        {
            Fail($"FSC needs volumes of the same size, but the reference is {Reference.Size}³ and the volume {Volume.Size}³. " +
                 "Resize one of them with Resize-EmVolume -Size first.", "FscSizeMismatch", ErrorCategory.InvalidArgument, Volume);
        }
        if (Reference.VoxelSize > 0 && Volume.VoxelSize > 0
            && Math.Abs(Reference.VoxelSize - Volume.VoxelSize) > 1e-3 * Reference.VoxelSize)
        {
            WriteWarning($"The voxel sizes differ ({Reference.VoxelSize:0.###} Å and {Volume.VoxelSize:0.###} Å); " +
                $"Å values use the reference's.");
        }
        var result = Fsc.Compute(Reference, Volume, Threshold);
        WriteVerbose($"FSC over {result.Curve.Length} shells: crossing {Threshold} at shell {result.CrossingShell:0.##}.");
        WriteObject(result);
    }
}
