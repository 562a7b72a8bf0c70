using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// A linear model that can also form the projections B(R)·x for many rotations at once, faster than building every
/// B(R) (the E-step only needs the projections; the M-step needs the matrices). The images must equal B(R)·x up to
/// rounding, and must not depend on the number of threads.
/// </summary>
public interface IBatchProjectionModel : ILinearProjectionModel
{
    /// <summary>images[k·L² + pixel] = (B(R_k)·x)[pixel].</summary>
    void Project(ReadOnlySpan<double> x, IReadOnlyList<Rotation> rotations, Span<double> images);
}
