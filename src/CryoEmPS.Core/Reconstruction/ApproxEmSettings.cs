using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>Everything Algorithm 1 needs besides the patches and x₀.</summary>
public sealed class ApproxEmSettings
{
    public required IReadOnlyList<ApproxEmStage> Stages { get; init; }
    /// <summary>σ², the noise variance per pixel.</summary>
    public required double NoiseVariance { get; init; }
    /// <summary>The observation model (filters per micrograph); null = the paper's, without a filter.</summary>
    public ForwardModel? ForwardModel { get; init; }
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
    /// <summary>
    /// Maps the previous stage's coefficients into stage <c>i</c>'s parameter space (frequency marching). Default: zero-pad by index.
    /// </summary>
    public Func<int, double[], double[]>? Lift { get; init; }
    /// <summary>
    /// Synthesises the L³ volume of stage <c>i</c>'s coefficients (for the FSC against <see cref="Reference"/> and the result).
    /// </summary>
    public Func<int, double[], Volume>? Synthesize { get; init; }
    /// <summary>The true volume: when given (with <see cref="Synthesize"/>), the FSC resolution is recorded every iteration.</summary>
    public Volume? Reference { get; init; }
    public string? CheckpointPath { get; init; }
    /// <summary>Continue from <see cref="CheckpointPath"/> when it exists.</summary>
    public bool Resume { get; init; }
    /// <summary>Which statistics each M-step solves with (default: the paper's minibatch; the request's default is incremental).</summary>
    public MStepMode MStep { get; init; } = MStepMode.Minibatch;
    /// <summary>The prior on the coefficients (default none: the paper's maximum likelihood).</summary>
    public ApproxEmPrior Prior { get; init; } = ApproxEmPrior.None;
    /// <summary>T, RELION's tau2_fudge: τ² = T·(signal power); larger T = weaker prior.</summary>
    public double Tau2Fudge { get; init; } = 1;
    /// <summary>Re-estimate σ² in every M-step (<see cref="NoiseVariance"/> is then the starting value).</summary>
    public bool EstimateNoiseVariance { get; init; }
    /// <summary>
    /// The two gold-standard halves (patch indices, ascending, sharing no particle), reconstructed independently; null: one
    /// reconstruction from all patches.
    /// </summary>
    public HalfSets? HalfSets { get; init; }
    /// <summary>
    /// With half-sets: stop a stage when the half-map resolution has not improved for this many iterations (0: never early).
    /// </summary>
    public int HalfMapPatience { get; init; }
    /// <summary>Patch indices (ascending) kept out of every M-step; their log-likelihood is recorded every iteration (null: none).</summary>
    public int[]? HeldOut { get; init; }
    /// <summary>
    /// Adaptive frequency marching: after a stage that did not produce the best map so far (by the held-out or half-map criterion),
    /// stop instead of raising ℓmax. Needs a criterion.
    /// </summary>
    public bool AdaptiveMarching { get; init; }

    /// <summary>
    /// The processes the run is spread over (issue 13; null: this one alone). Every rank runs the same run on the same
    /// settings: each E-step scores a contiguous share of its patches and the statistics are added in rank order, the M-step
    /// builds a share of the rotations' normal equations and adds them likewise, and rank 0's x and σ² are broadcast after
    /// each M-step. Only rank 0 writes the checkpoint (and holds its lock) and reports progress.
    /// </summary>
    public Native.ICommunicator? Communicator { get; init; }

    /// <summary><see cref="Communicator"/>, or the world of this process alone.</summary>
    internal Native.ICommunicator World => Communicator ?? Native.SingleProcess.Instance;

    /// <summary>The one check of a run's settings against its patches and x₀ (the E-step and M-step then trust them).</summary>
    public void Validate(PatchSet patches, double[] x0)
    {
        if (patches.Count == 0)
        {
            throw new ArgumentException("The patch set is empty: there is nothing to reconstruct from.");
        }
        if (Stages.Count == 0)
        {
            throw new ArgumentException("At least one stage is needed.");
        }
        if (!(NoiseVariance > 0) || double.IsInfinity(NoiseVariance))
        {
            throw new ArgumentOutOfRangeException(nameof(NoiseVariance), $"σ² must be positive and finite; got {NoiseVariance}.");
        }
        if (!(EmptyProbability >= 0 && EmptyProbability < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(EmptyProbability), $"v₀ must lie in [0, 1); got {EmptyProbability}.");
        }
        for (int i = 0; i < Stages.Count; i++)
        {
            if (Stages[i].Model.ImageSize != patches.PatchSize)
            {
                throw new ArgumentException($"Stage {i + 1} projects {Stages[i].Model.ImageSize}×{Stages[i].Model.ImageSize} images " +
                    $"but the patches are {patches.PatchSize}×{patches.PatchSize}.");
            }
        }
        if (ForwardModel != null && ForwardModel.ImageSize != patches.PatchSize)
        {
            throw new ArgumentException($"The forward model is for {ForwardModel.ImageSize}×{ForwardModel.ImageSize} projections " +
                $"but the patches are {patches.PatchSize}×{patches.PatchSize}.");
        }

        if (ForwardModel != null && !ForwardModel.IsUnfiltered)
        {
            if (patches.MicrographIndexCount > ForwardModel.MicrographCount)
            {
                throw new ArgumentException($"The patches come from {patches.MicrographIndexCount} micrographs but the forward model has filters for " +
                    $"{ForwardModel.MicrographCount}: give every micrograph its filter.");
            }
        }

        if (Prior != ApproxEmPrior.None || HalfSets != null)
        {
            if (Stages.Any(stage => stage.Model is not FourierBesselModel))
            {
                throw new NotSupportedException("The prior and the half-map FSC need the Fourier–Bessel model in every stage.");
            }
        }

        if (!(Tau2Fudge > 0) || double.IsInfinity(Tau2Fudge))
        {
            throw new ArgumentOutOfRangeException(nameof(Tau2Fudge), $"T must be positive and finite; got {Tau2Fudge}.");
        }

        if (x0.Length != Stages[0].Model.ParameterCount)
        {
            throw new ArgumentException(
                $"The initial coefficients have {x0.Length} entries; the first stage's model has {Stages[0].Model.ParameterCount}.");
        }
    }
}
