using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>Everything Algorithm 1 needs besides the patches and x₀.</summary>
public sealed class ApproxEmSettings
{
    public required IReadOnlyList<ApproxEmStage> Stages { get; init; }
    /// <summary>σ², the noise variance per pixel.</summary>
    public required double NoiseVariance { get; init; }
    /// <summary>v₀: the initial probability that a patch is empty.</summary>
    public double EmptyProbability { get; init; } = 0.5;
    public int Seed { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>See <see cref="EStepOptions.PosteriorCutoff"/>; 0 = exact.</summary>
    public double PosteriorCutoff { get; init; }
    /// <summary>FFT side for the correlations (0 = automatic).</summary>
    public int FftSize { get; init; }
    /// <summary>Arithmetic of the E-steps' per-pair work (see <see cref="EStepPrecision"/>; default Auto).</summary>
    public EStepPrecision Precision { get; init; } = EStepPrecision.Auto;
    /// <summary>Maps the previous stage's coefficients into stage <c>i</c>'s parameter space (frequency marching). Default: zero-pad by index.</summary>
    public Func<int, double[], double[]>? Lift { get; init; }
    /// <summary>Synthesises the L³ volume of stage <c>i</c>'s coefficients (for the FSC against <see cref="Reference"/> and the result).</summary>
    public Func<int, double[], Volume>? Synthesize { get; init; }
    /// <summary>The true volume: when given (with <see cref="Synthesize"/>), the FSC resolution is recorded every iteration.</summary>
    public Volume? Reference { get; init; }
    public string? CheckpointPath { get; init; }
    /// <summary>Continue from <see cref="CheckpointPath"/> when it exists.</summary>
    public bool Resume { get; init; }
}
