using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// Something that makes L×L tomographic projections I_R(x, y) = ∫ f(Rᵀ(x, y, z)) dz of one molecule,
/// on the pixel grid whose origin is index floor(L/2). New-Micrograph and Get-EmProjection use it;
/// the voxel (Fourier-slice) projector and the exact Fourier–Bessel projector implement it.
/// Implementations must be safe to call from several threads at once.
/// </summary>
public interface IProjector
{
    /// <summary>L, the side of each projection image.</summary>
    int Size { get; }
    /// <summary>Pixel size in Å (0 = unknown).</summary>
    double PixelSize { get; }
    /// <summary>A name for the molecule (goes into the truth of a micrograph).</summary>
    string Name { get; }
    /// <summary>Writes the L×L projection at rotation <paramref name="rotation"/> into <paramref name="image"/> ([y, x], x fastest).</summary>
    void Project(Rotation rotation, Span<double> image);
}
