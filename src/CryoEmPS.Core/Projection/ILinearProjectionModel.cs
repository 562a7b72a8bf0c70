using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// A volume model that is linear in its real parameter vector x: for every rotation R the L×L
/// projection image is I_R = B(R)·x. The Fourier–Bessel model implements it (B(R) = G·D(R) in the
/// real parametrisation); tests may use any other linear model. The approximate EM only sees this.
/// Implementations must be safe to call from several threads at once.
/// </summary>
public interface ILinearProjectionModel
{
    /// <summary>L: the side of each projection image (and patch).</summary>
    int ImageSize { get; }

    /// <summary>n: the number of real parameters.</summary>
    int ParameterCount { get; }

    /// <summary>
    /// Writes B(R), an (L·L)×n matrix in row-major order (row = pixel index y·L + x, column = parameter),
    /// into <paramref name="destination"/> (length L·L·n).
    /// </summary>
    void ProjectionMatrix(Rotation rotation, Span<double> destination);
}
