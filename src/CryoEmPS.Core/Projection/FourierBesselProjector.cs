using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Projection;

/// <summary>The exact projector of a <see cref="FourierBesselVolume"/> (see <see cref="FourierBesselModel"/>). Thread-safe.</summary>
public sealed class FourierBesselProjector : IProjector
{
    private readonly FourierBesselVolume _fb;

    public FourierBesselProjector(FourierBesselVolume fb)
    {
        ArgumentNullException.ThrowIfNull(fb);
        _fb = fb;
        Model = FourierBesselModel.Get(fb.Size, fb.EllMax);
    }

    public FourierBesselModel Model { get; }
    public int Size => _fb.Size;
    public double PixelSize => _fb.VoxelSize;
    public string Name => _fb.Name;

    public void Project(Rotation rotation, Span<double> image)
    {
        if (image.Length != Size * Size) throw new ArgumentException($"Image must have {Size * Size} pixels.", nameof(image));
        Model.Project(_fb.Coefficients, rotation, image);
    }

    /// <summary>All projections at once (one matrix product), as an image stack.</summary>
    public ImageStack ProjectAll(IReadOnlyList<Rotation> rotations)
    {
        var stack = new ImageStack(rotations.Count, Size, Size, null, PixelSize, Name) { Rotations = rotations.ToArray() };
        Model.Project(_fb.Coefficients, rotations, stack.Data);
        return stack;
    }
}
