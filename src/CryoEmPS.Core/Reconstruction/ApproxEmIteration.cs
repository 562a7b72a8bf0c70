namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// One row of the history: the state after <see cref="Iteration"/> M-steps of a stage (iteration 0 = the stage's
/// starting volume), evaluated by the E-step on that iteration's minibatch J_k.
/// </summary>
public sealed class ApproxEmIteration
{
    public int Stage { get; init; }
    public int EllMax { get; init; }
    public int RotationCount { get; init; }
    public double StochasticFactor { get; init; }
    public int Iteration { get; init; }
    public int PatchCount { get; init; }
    /// <summary>
    /// LL = Σ_{q∈J_k} log Σ_{s,ω} (ρ_k[s]/K)·N(I_q; A_{s,ω}x_k, σ²I) — the exact objective of the approximate likelihood on the minibatch.
    /// </summary>
    public double LogLikelihood { get; init; }
    /// <summary>LL / |J_k|: comparable across stochastic factors; the stopping rule uses its gains.</summary>
    public double LogLikelihoodPerPatch { get; init; }
    /// <summary>v_k, the empty-patch probability of the prior used in this E-step.</summary>
    public double EmptyProbability { get; init; }
    /// <summary>Wall-clock seconds of this iteration (M-step + E-step; E-step only for iteration 0).</summary>
    public double Seconds { get; init; }
    /// <summary>Of <see cref="Seconds"/>, the M-step's (building and solving the normal equations; 0 for iteration 0).</summary>
    public double MStepSeconds { get; init; }
    /// <summary>The number of MPI ranks the iteration ran on (1: one process; not kept in checkpoints, so resumed rows say 1).</summary>
    public int Ranks { get; internal set; } = 1;
    /// <summary>
    /// Of <see cref="Seconds"/>, this rank's time in the MPI sums and broadcasts (waiting for the slowest rank included);
    /// 0 in one process.
    /// </summary>
    public double CommunicationSeconds { get; internal set; }
    /// <summary>The bytes this rank sent and received in those sums and broadcasts during the iteration; 0 in one process.</summary>
    public long CommunicatedBytes { get; internal set; }
    /// <summary>Interpolated FSC(0.5) crossing shell against the reference (NaN without one).</summary>
    public double FscShell { get; init; } = double.NaN;
    /// <summary>First shell below 0.5 (−1: never; null without a reference).</summary>
    public int? FscFirstShellBelow { get; init; }
    /// <summary>The Tikhonov λ the M-step that produced this x had to add (0: none).</summary>
    public double Regularization { get; init; }
    /// <summary>Fraction of (patch, rotation) pairs the statistics pass skipped (exactly-zero posterior unless a cutoff was set).</summary>
    public double SkippedFraction { get; init; }
    /// <summary>The arithmetic of this row's E-step: Double or Single (what Auto chose).</summary>
    public EStepPrecision Precision { get; init; } = EStepPrecision.Double;

    /// <summary>σ² of this row's E-step (given, or as the previous M-step estimated it; the mean of the halves' with half-sets).</summary>
    public double NoiseVariance { get; init; } = double.NaN;
    /// <summary>
    /// With half-sets: the interpolated shell where the FSC between the two half maps crosses 0.143 (the resolution the data
    /// support, without the truth); NaN without half-sets, and in stage 1's iteration 0, where both halves are still x₀ (the half-map
    /// columns, <see cref="EstimatedFscShell"/> and <see cref="HalfMapCriterion"/> alike).
    /// </summary>
    public double HalfMapFscShell { get; init; } = double.NaN;
    /// <summary>
    /// With held-out patches: their log-likelihood per patch under this row's map, σ² and v (they are in no M-step, so a map that
    /// fits noise loses here); NaN without them.
    /// </summary>
    public double HeldOutLogLikelihoodPerPatch { get; init; } = double.NaN;
    /// <summary>
    /// The held-out log-likelihood per patch on the first stage's scale, the criterion that compares maps across stages: each
    /// stage scores over its own rotation grid, and a coarser grid scores every map lower, so a stage's values are shifted, patch by
    /// patch, to make its iteration 0 (the map it was handed) score as that map did in the stage before (the mean of
    /// <see cref="HeldOutSelection"/>'s per-patch scores). NaN without held-out patches.
    /// </summary>
    public double HeldOutScore { get; init; } = double.NaN;
    /// <summary>
    /// With held-out patches: each one's log-likelihood under this row's map, σ² and v (the patches of
    /// <see cref="HeldOutLogLikelihoodPerPatch"/>, in the same order in every row); empty without them. The returned map is chosen
    /// from them patch by patch (<see cref="HeldOutSelection"/>).
    /// </summary>
    public double[] HeldOutPatchLogLikelihood { get; init; } = Array.Empty<double>();
    /// <summary>
    /// With half-sets: the truth-free estimate of this map's FSC(0.5) crossing against the truth, from the half-map FSC and the
    /// share of each shell the expansion at this ℓmax can hold (see <see cref="ApproxEm.HalfMapResolution"/>), with the prior also
    /// what it kept of each degree (<see cref="ApproxEm.PriorAttenuation"/>); NaN without half-sets.
    /// </summary>
    public double EstimatedFscShell { get; init; } = double.NaN;
    /// <summary>
    /// With half-sets: the criterion that picks the returned map when no patches are held out, the estimate without the prior's
    /// attenuation (equal to <see cref="EstimatedFscShell"/> without the prior). The prior's gain falls as ℓmax grows, which would
    /// rank a later stage's maps below an earlier stage's they improve on (measured: it returned stage 1's 5.48 instead of stage
    /// 2's 5.75 at SNR 1 on the paper benchmark); NaN without half-sets.
    /// </summary>
    internal double HalfMapCriterion { get; init; } = double.NaN;
    /// <summary>
    /// True on the row whose volume the result returns: with held-out patches the latest map of the top-scoring map's stage within one
    /// standard error of the highest held-out score (<see cref="HeldOutSelection"/>), with half-sets alone the best half-map estimate, else the last row.
    /// </summary>
    public bool Best { get; internal set; }

    public override string ToString()
        => $"stage {Stage} (ℓmax {EllMax}) it {Iteration}: LL/patch {LogLikelihoodPerPatch:0.####}, v {EmptyProbability:0.###}" +
            (double.IsNaN(HalfMapFscShell) ? "" : $", half-map shell {HalfMapFscShell:0.##}") +
            (double.IsNaN(FscShell) ? "" : $", FSC shell {FscShell:0.##}") + (Best ? " (best)" : "");
}
