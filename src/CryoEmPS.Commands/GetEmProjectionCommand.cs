using System.Management.Automation;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>Accepts a RotationSet, a Rotation, or an array of them where Rotation[] is expected.</summary>
public sealed class RotationArrayTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object unwrapped = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        switch (unwrapped)
        {
            case RotationSet set:
                return set.Rotations;
            case Rotation rotation:
                return new[] { rotation };
            case System.Collections.IEnumerable sequence when unwrapped is not string:
                var list = new List<Rotation>();
                foreach (var item in sequence)
                {
                    object element = item is PSObject wrappedItem ? wrappedItem.BaseObject : item;
                    if (element is Rotation itemRotation)
                    {
                        list.Add(itemRotation);
                    }
                    else if (element is RotationSet itemSet)
                    {
                        list.AddRange(itemSet.Rotations);
                    }
                    else
                    {
                        return inputData;
                    }
                }
                return list.ToArray();
            default:
                return inputData;
        }
    }
}

/// <summary>Get-EmProjection: tomographic projections I_R(x, y) = ∫ f(Rᵀ(x, y, z)) dz of a volume at given rotations.</summary>
[Cmdlet(VerbsCommon.Get, "EmProjection", DefaultParameterSetName = VolumeSet)]
[OutputType(typeof(ImageStack))]
public sealed class GetEmProjectionCommand : CryoEmCmdlet
{
    private const string VolumeSet = "Volume";
    private const string FourierBesselSet = "FourierBessel";

    /// <summary>A cubic volume.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true,
        ParameterSetName = VolumeSet)]
    [ValidateNotNull]
    public Volume Volume { get; set; } = null!;

    /// <summary>A Fourier–Bessel volume: projected exactly (I_R = G·D(R)·x, eqs. 9–16).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true,
        ParameterSetName = FourierBesselSet)]
    [ValidateNotNull]
    public FourierBesselVolume FourierBessel { get; set; } = null!;

    /// <summary>The rotations: a RotationSet, a Rotation, or an array of them.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [RotationArrayTransformation]
    [ValidateNotNullOrEmpty]
    public Rotation[] Rotation { get; set; } = Array.Empty<Rotation>();

    protected override void ProcessRecord()
    {
        var input = VolumeInput.ForProjection(this, ParameterSetName == FourierBesselSet ? FourierBessel : Volume, "VolumeNotCubic");
        double pixels = (double)Rotation.Length * input.Size * input.Size;
        MemoryChecks.Require(this, 8 * pixels + MemoryChecks.Volume(2 * input.Size, 2),
            $"{Rotation.Length} projections of {input.Size}×{input.Size}", "Project fewer rotations at a time.", input.Value, pixels);
        if (input.FourierBessel != null)
        {
            WriteExactProjections(input);
        }
        else
        {
            WriteVoxelProjections(input);
        }
    }

    /// <summary>A Fourier–Bessel volume: all projections at once, exactly.</summary>
    private void WriteExactProjections(VolumeInput input)
    {
        ImageStack? stack = null;
        try
        {
            stack = ((FourierBesselProjector)input.CreateProjector()).ProjectAll(Rotation);
        }
        catch (ArgumentException ex)
        {
            Fail(ex, "InvalidRotation", ErrorCategory.InvalidArgument, Rotation);
        }
        WriteVerbose($"{Rotation.Length} exact projections of {input.FourierBessel} (Fourier–Bessel, I = G·D(R)·x).");
        WriteObject(stack);
    }

    /// <summary>A voxel volume: Fourier-slice projections on a worker thread, with progress and Ctrl+C.</summary>
    private void WriteVoxelProjections(VolumeInput input)
    {
        RequireNative(fftw: true);
        const string activity = "Get-EmProjection";
        int total = Rotation.Length;
        var rotations = Rotation;
        try
        {
            var stack = RunPumped<int, ImageStack>((progress, token) =>
            {
                using var projector = (VoxelProjector)input.CreateProjector();
                return projector.ProjectMany(rotations, token, progress);
            }, done => Progress(1, activity, $"{done} of {total} projections", 100 * done / total));
            WriteVerbose($"{total} projections of {input.Voxels} (Fourier slice, Kaiser–Bessel NUFFT, N = 2L).");
            WriteObject(stack);
        }
        finally
        {
            ProgressCompleted(1, activity);
        }
    }
}
