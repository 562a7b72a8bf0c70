using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// A projection model whose B(R) = G·E(R) factors through a rotation-independent G (L² × r) and a sparse E(R)
/// (r × n) that is cheap to apply. The M-step then forms H_ω = Gᵀ diag(m_ω) G — r² work per pixel instead of n² —
/// and expands it once per rotation: B_ωᵀ diag(m_ω) B_ω = E_ωᵀ H_ω E_ω and B_ωᵀ b_ω = E_ωᵀ (Gᵀ b_ω).
/// (For the Fourier–Bessel model r = Σ S(ℓ)(ℓ+1) ≈ n/2 + Σ S(ℓ)/2, so about 2.6× less work.)
/// </summary>
internal unsafe interface IFactoredProjectionModel : ILinearProjectionModel
{
    /// <summary>r, the columns of G.</summary>
    int ReducedCount { get; }
    /// <summary>G, L² × <see cref="ReducedCount"/>, row-major. Shared: do not modify.</summary>
    double[] ReducedImageMatrix { get; }
    /// <summary>Length of the scratch buffer <see cref="AccumulateExpanded"/> needs.</summary>
    int ExpandScratchLength { get; }
    /// <summary>
    /// c += E(R)ᵀ·h·E(R) (n×n row-major; the upper triangle and possibly more) and y += E(R)ᵀ·g, for a symmetric h (r×r, both triangles)
    /// and g (r).
    /// </summary>
    void AccumulateExpanded(Rotation rotation, double* h, double* g, double* c, double* y, double* scratch);
}
