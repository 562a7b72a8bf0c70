namespace CryoEmPS.Core.Plotting;

/// <summary>
/// A box on an image, in the image's pixels: the top-left corner at column <paramref name="X"/>, row <paramref name="Y"/>
/// (0-based, row 0 at the top), of <paramref name="Width"/>×<paramref name="Height"/> pixels. Boxes of one
/// <paramref name="Group"/> share a colour and a legend entry.
/// </summary>
public sealed record PlotBox(double X, double Y, double Width, double Height, string Group);
