namespace CryoEmPS.Core.Reconstruction;

/// <summary>The arithmetic of the E-step's transforms, likelihoods and weights.</summary>
public enum EStepPrecision
{
    /// <summary>
    /// <see cref="Single"/> when <see cref="EStep.SingleErrorBound"/> for this E-step's patches and projections is at
    /// most <see cref="EStep.AutoSingleBound"/> (a posterior weight then moves by at most 1 %; about SNR ≤ 10 at L = 17),
    /// else <see cref="Double"/>. Decided per E-step and recorded in <see cref="EStepResult.Precision"/>.
    /// </summary>
    Auto,
    /// <summary>Double precision throughout: the exact path (agrees with brute-force sums to ~1e-12).</summary>
    Double,
    /// <summary>
    /// The per-(patch, rotation) work — correlation and back-projection FFTs, lag log-likelihoods, their exponentials and
    /// the statistics' accumulators — in single precision (twice the lanes per register; timings in benchmarks/README.md); patch
    /// energies, log-normalisers and per-patch log-likelihoods stay in double. The error of a lag log-likelihood is
    /// about 1e-7 × ‖I‖‖p‖/σ² (≈ 1e-5 at SNR 1 and L = 17): see <see cref="EStep.SingleErrorBound"/>. The M-step that
    /// follows forms its per-rotation Gram matrices Gᵀdiag(m_ω)G in single precision too (ssyrk, ~1e-7 relative) and
    /// sums and solves the normal equations in double.
    /// </summary>
    Single,
}
