using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>Everything Invoke-ApproxEm asks of <see cref="ApproxEmReconstruction.Run"/>: the data, x₀ and the schedule (one entry per stage).</summary>
public sealed class ApproxEmRequest
{
    public required PatchSet Patches { get; init; }
    /// <summary>x₀ as a voxel volume (expanded at the first stage's ℓmax), or null.</summary>
    public Volume? InitialVolume { get; init; }
    /// <summary>x₀ as Fourier–Bessel coefficients (its ℓmax is changed to the first stage's), or null.</summary>
    public FourierBesselVolume? InitialCoefficients { get; init; }
    public required int[] EllMax { get; init; }
    public required RotationSet[] Rotations { get; init; }
    public required double[] StochasticFactor { get; init; }
    public required int[] MaxIterations { get; init; }
    public required double[] Tolerance { get; init; }
    public required double NoiseVariance { get; init; }
    public double EmptyProbability { get; init; } = 0.5;
    public int Seed { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
    public double PosteriorCutoff { get; init; }
    public EStepPrecision Precision { get; init; } = EStepPrecision.Auto;
    public Volume? Reference { get; init; }
    public string? CheckpointPath { get; init; }
    public bool Resume { get; init; }
}
