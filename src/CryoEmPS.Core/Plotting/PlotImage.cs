namespace CryoEmPS.Core.Plotting;

/// <summary>
/// A greyscale image to draw: <paramref name="Values"/> row-major [y, x] (x fastest), row 0 drawn at the top as MRC
/// viewers show it; <paramref name="Title"/> is written above it.
/// </summary>
public sealed record PlotImage(double[] Values, int Width, int Height, string Title)
{
    /// <summary>The value at column <paramref name="x"/> of row <paramref name="y"/>.</summary>
    public double this[int y, int x] => Values[(long)y * Width + x];
}
