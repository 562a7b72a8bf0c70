using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// A stack of equally sized 2-D images, stored as one array [image, y, x] (x fastest), the data order
/// of an MRC stack. <see cref="PixelSize"/> in Å (0 = unknown). <see cref="Rotations"/>, when set,
/// gives the rotation each image was projected at.
/// </summary>
public sealed class ImageStack
{
    public ImageStack(int count, int sizeY, int sizeX, double[]? data = null, double pixelSize = 0, string? name = null)
    {
        if (count <= 0 || sizeY <= 0 || sizeX <= 0)
            throw new ArgumentOutOfRangeException(nameof(count), $"Image stack dimensions must be positive; got {count} images of {sizeY}x{sizeX}.");
        long n = (long)count * sizeY * sizeX;
        if (n > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(count), "Image stack too large.");
        if (data != null && data.Length != n) throw new ArgumentException("Data length does not match the stack dimensions.", nameof(data));
        Count = count; SizeY = sizeY; SizeX = sizeX;
        Data = data ?? new double[n];
        PixelSize = pixelSize;
        Name = name ?? "";
    }

    public int Count { get; }
    public int SizeY { get; }
    public int SizeX { get; }
    public double[] Data { get; }
    public double PixelSize { get; set; }
    public string Name { get; set; }
    public Rotation[]? Rotations { get; set; }
    public int ImageLength => SizeY * SizeX;

    public Span<double> Image(int i) => Data.AsSpan(i * ImageLength, ImageLength);
    public double this[int i, int y, int x]
    {
        get => Data[((long)i * SizeY + y) * SizeX + x];
        set => Data[((long)i * SizeY + y) * SizeX + x] = value;
    }

    public override string ToString() => $"ImageStack {Count} x {SizeY}x{SizeX}" + (PixelSize > 0 ? $", {PixelSize:0.###} Å/px" : "");
}
