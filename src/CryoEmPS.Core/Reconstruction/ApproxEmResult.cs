using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>The output of Invoke-ApproxEm: the estimate (voxels and coefficients), v, the history and every parameter used.</summary>
public sealed class ApproxEmResult
{
    public required Volume Volume { get; init; }
    public required FourierBesselVolume FourierBesselVolume { get; init; }
    public double[] Coefficients => FourierBesselVolume.Coefficients;
    public int Size => Volume.SizeX;
    public int EllMax => FourierBesselVolume.EllMax;
    /// <summary>v, the final probability that a patch is empty.</summary>
    public required double EmptyProbability { get; init; }
    public required ApproxEmIteration[] History { get; init; }
    public required int Seed { get; init; }
    public required int PatchCount { get; init; }
    /// <summary>σ² at the end: the M-step's estimate when <see cref="NoiseVarianceEstimated"/>, else as given.</summary>
    public required double NoiseVariance { get; init; }
    /// <summary>σ² of the first E-step (given, or the patches' mean square when estimated).</summary>
    public double InitialNoiseVariance { get; init; }
    public bool NoiseVarianceEstimated { get; init; }
    public MStepMode MStep { get; init; }
    public ApproxEmPrior Prior { get; init; }
    public double Tau2Fudge { get; init; }
    /// <summary>The gold-standard split (null without -HalfSet).</summary>
    public HalfSets? HalfSets { get; init; }
    /// <summary>
    /// The two half maps (null without -HalfSet). <see cref="Volume"/> is then their FSC-weighted combination (their mean with each
    /// Fourier shell scaled by √(2F/(1+F))) and <see cref="FourierBesselVolume"/> their plain mean.
    /// </summary>
    public Volume[]? HalfVolume { get; init; }
    public FourierBesselVolume[]? HalfFourierBesselVolume { get; init; }
    /// <summary>
    /// Per patch of the patch set, in its order: the posterior probability that the patch holds no particle, from the last stage's
    /// statistics (incremental EM: each block's last visit; minibatch M-step: only the last minibatch; held-out patches: their
    /// last scoring); NaN for a patch not scored there. Measure-NoiseSpectrum -Reconstruction measures the noise on the patches
    /// found empty.
    /// </summary>
    public double[] PatchEmptyProbability { get; init; } = Array.Empty<double>();
    /// <summary>How many patches were held out of every M-step (0: none).</summary>
    public int HeldOutCount { get; init; }
    public FrequencyMarching Marching { get; init; }
    /// <summary>For every stage of the schedule, the History index of the map it handed on or returned (see the about topic).</summary>
    public int[] StageResultRows { get; init; } = Array.Empty<int>();
    /// <summary>Stages that ran (fewer than the schedule's when adaptive marching stopped early).</summary>
    public int StagesRun => History.Length == 0 ? 0 : History.Max(row => row.Stage);
    /// <summary>
    /// The history row whose volume this result holds: the best by the truth-free criterion (the held-out log-likelihood, else the
    /// half-map estimate) when there is one, else the last.
    /// </summary>
    public ApproxEmIteration? BestIteration => History.FirstOrDefault(row => row.Best);
    /// <summary>The truth-free estimate of the FSC(0.5) crossing against the truth of the returned map (NaN without half-sets).</summary>
    public double EstimatedFscShell => BestIteration?.EstimatedFscShell ?? double.NaN;
    /// <summary>The half-map FSC 0.143 crossing shell of the returned iterate (NaN without half-sets).</summary>
    public double HalfMapFscShell => BestIteration?.HalfMapFscShell ?? double.NaN;
    /// <summary>The half-map resolution in Å, L·voxel/shell (NaN without half-sets or voxel size).</summary>
    public double HalfMapResolutionAngstrom
        => Volume.VoxelSize > 0 && HalfMapFscShell > 0 ? Size * Volume.VoxelSize / HalfMapFscShell : double.NaN;
    public required double InitialEmptyProbability { get; init; }
    public required int[] EllMaxSchedule { get; init; }
    public required int[] RotationCount { get; init; }
    public required double[] StochasticFactor { get; init; }
    public required int[] MaxIterations { get; init; }
    public required double[] Tolerance { get; init; }
    public required int Threads { get; init; }
    public required double PosteriorCutoff { get; init; }
    /// <summary>The -Precision setting (Auto, Double or Single); each History row says what its E-step used.</summary>
    public required EStepPrecision Precision { get; init; }
    /// <summary>Where x₀ came from: "Volume", "FourierBesselVolume", "Random" or "Checkpoint".</summary>
    public required string InitialVolumeSource { get; init; }
    /// <summary>The largest Tikhonov λ any M-step had to add (0: C was always positive definite).</summary>
    public double Regularization => History.Length == 0 ? 0 : History.Max(row => row.Regularization);
    public int RegularizedIterations => History.Count(row => row.Regularization > 0);
    public string? CheckpointPath { get; init; }
    public bool Resumed { get; init; }
    /// <summary>The factor x₀ was multiplied by before the run (-FitInitialScale; 1 otherwise).</summary>
    public double InitialScale { get; init; } = 1;
    public double FinalLogLikelihoodPerPatch => History.Length == 0 ? double.NaN : History[^1].LogLikelihoodPerPatch;
    /// <summary>FSC(0.5) crossing shell of the first and last rows (NaN without -Reference).</summary>
    public double InitialFscShell => History.Length == 0 ? double.NaN : History[0].FscShell;
    /// <summary>FSC shell (against -Reference) of the returned iterate (the best row with half-sets, else the last).</summary>
    public double FinalFscShell => BestIteration?.FscShell ?? (History.Length == 0 ? double.NaN : History[^1].FscShell);
    public int Iterations => History.Count(row => row.Iteration > 0);

    public override string ToString()
    {
        string fsc = double.IsNaN(FinalFscShell) ? "" : $", FSC shell {InitialFscShell:0.##} → {FinalFscShell:0.##}";
        fsc += double.IsNaN(HalfMapFscShell) ? "" : $", half-map shell {HalfMapFscShell:0.##} (estimate {EstimatedFscShell:0.##})";
        return $"ApproxEmResult L = {Size}, ℓmax = {EllMax}, {Iterations} iterations, " +
            $"LL/patch {FinalLogLikelihoodPerPatch:0.###}, v = {EmptyProbability:0.###}{fsc}";
    }
}
