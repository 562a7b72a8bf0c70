namespace CryoEmPS.Core.Reconstruction;

/// <summary>Which statistics an M-step solves with.</summary>
public enum MStepMode
{
    /// <summary>
    /// Incremental EM (Neal &amp; Hinton 1998): each stage splits the patches into B = round(1/S) fixed blocks, iteration k's
    /// E-step visits block k mod B, and every M-step solves with the statistics of all blocks, each from its last visit. All
    /// the data in every M-step at 1/B of the E-step work; with S = 1 it is the paper's M-step.
    /// </summary>
    Incremental,

    /// <summary>The paper's M-step: the statistics of the last minibatch J_k only (⌊S·P⌋ patches drawn afresh each iteration).</summary>
    Minibatch,
}

/// <summary>The prior on the Fourier–Bessel coefficients in the M-step.</summary>
public enum ApproxEmPrior
{
    /// <summary>Plain maximum likelihood (the paper's): solve C x = y.</summary>
    None,

    /// <summary>
    /// MAP with a Gaussian prior whose variance τ² depends only on the radial frequency (RELION's; see
    /// <see cref="FourierBesselPrior"/>): solve (C + σ²R) x = y, τ² re-estimated every M-step from the data, T·(signal power).
    /// </summary>
    Gaussian,
}

/// <summary>How the run moves from one ℓmax to the next (frequency marching).</summary>
public enum FrequencyMarching
{
    /// <summary>Every stage of the schedule runs (the paper's fixed schedule).</summary>
    Fixed,

    /// <summary>
    /// The next stage runs only when this one produced the best map so far by the truth-free criterion (the held-out log-likelihood,
    /// or the half-map estimate): as RELION's auto-refine raises its resolution limit only while the data support it. Needs
    /// half-sets or held-out patches.
    /// </summary>
    Adaptive,
}
