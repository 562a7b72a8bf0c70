namespace CryoEmPS.Core.Reconstruction;

/// <summary>Options of one E-step.</summary>
public sealed class EStepOptions
{
    /// <summary>Worker threads (default: all processors). Results do not depend on it.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>FFT side for the correlations (0 = <see cref="ShiftPrior.FastFftSize"/>); any value ≥ 2L−1 gives the same result.</summary>
    public int FftSize { get; init; }
    /// <summary>
    /// Opt-in approximation: a (patch, rotation) pair whose total posterior mass is below this is left out of the
    /// sufficient statistics. 0 (default) is exact: only pairs whose every weight underflows to exactly 0 are skipped.
    /// </summary>
    public double PosteriorCutoff { get; init; }
    /// <summary>
    /// Only the log-likelihoods and the empty posterior: the statistics (<see cref="EStepResult.BackProjection"/>,
    /// <see cref="EStepResult.PixelWeight"/>, <see cref="EStepResult.ShiftWeight"/>) come back empty, which saves the
    /// back-projection FFT of every pair. For the last E-step of a stage, whose statistics no M-step uses.
    /// </summary>
    public bool LikelihoodOnly { get; init; }
    /// <summary>
    /// Register width of the rotation lanes: 0 (default) = 512 bits where the runtime reports them accelerated, else
    /// Vector&lt;T&gt;'s; 512 or 256 force one (256 means Vector&lt;T&gt;). Results are bit-identical for every choice; for tests.
    /// </summary>
    internal int LaneBits { get; init; }
    /// <summary>Arithmetic of the per-pair work (default <see cref="EStepPrecision.Auto"/>).</summary>
    public EStepPrecision Precision { get; init; } = EStepPrecision.Auto;
    /// <summary>
    /// When this E-step is one rank's share of an E-step split over processes (<see cref="ShardedEStep"/>): the world, so that
    /// <see cref="EStepPrecision.Auto"/> decides from every rank's patches and projections alike. Null: one process.
    /// </summary>
    internal Native.ICommunicator? World { get; init; }
    /// <summary>Optional progress callback: fraction of the E-step done, 0..1 (called from worker threads).</summary>
    public Action<double>? Progress { get; init; }

    /// <summary>These options for one rank's share of an E-step split over <paramref name="world"/>.</summary>
    internal EStepOptions On(Native.ICommunicator world) => Copy(world, LikelihoodOnly, Progress);

    /// <summary>These options with another world, <see cref="LikelihoodOnly"/> and progress callback.</summary>
    internal EStepOptions Copy(Native.ICommunicator? world, bool likelihoodOnly, Action<double>? progress) => new()
    {
        Threads = Threads, FftSize = FftSize, PosteriorCutoff = PosteriorCutoff, LikelihoodOnly = likelihoodOnly, LaneBits = LaneBits,
        Precision = Precision, World = world, Progress = progress,
    };
}
