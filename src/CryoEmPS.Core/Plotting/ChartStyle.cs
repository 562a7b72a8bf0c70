using ScottPlot;

namespace CryoEmPS.Core.Plotting;

/// <summary>What the charts share: colours, greyscale heatmaps, scale bars and PNG encoding (ScottPlot 5 on SkiaSharp).</summary>
internal static class ChartStyle
{
    /// <summary>Colours of successive lines and box groups (Tableau 10, readable on white and on grey images).</summary>
    public static readonly Color[] Palette =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#d62728"), Color.FromHex("#2ca02c"), Color.FromHex("#ff7f0e"),
        Color.FromHex("#9467bd"), Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#17becf"),
    ];

    public static Color ColorOf(int index) => Palette[index % Palette.Length];

    public static byte[] Png(Plot plot, int width, int height) => plot.GetImageBytes(width, height, ImageFormat.Png);

    /// <summary>A multiplot holding exactly <paramref name="plots"/> (a new Multiplot starts with one empty plot).</summary>
    public static Multiplot Multiplot(IReadOnlyList<Plot> plots)
    {
        var multiplot = new Multiplot(plots[0]);
        for (int i = 1; i < plots.Count; i++)
        {
            multiplot.AddPlot(plots[i]);
        }
        return multiplot;
    }

    public static byte[] Png(Multiplot multiplot, int width, int height)
    {
        using var image = multiplot.Render(width, height);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }

    /// <summary>The values at two percentiles (0..100) of the finite entries (nearest rank).</summary>
    public static (double Low, double High) Percentiles(IEnumerable<double> values, double low, double high)
    {
        var sorted = values.Where(double.IsFinite).ToArray();
        if (sorted.Length == 0)
        {
            return (0, 1);
        }
        Array.Sort(sorted);
        double At(double p) => sorted[(int)Math.Clamp(Math.Round(p / 100 * (sorted.Length - 1)), 0, sorted.Length - 1)];
        double lo = At(low);
        double hi = At(high);
        return hi > lo ? (lo, hi) : (lo - 0.5, lo + 0.5);
    }

    /// <summary>
    /// Draws <paramref name="image"/> as a greyscale heatmap whose pixel (x, y) covers [x, x+1]×[y, y+1] in axis units,
    /// row 0 at the top (the y axis is inverted), black at <paramref name="low"/> and white at <paramref name="high"/>.
    /// </summary>
    public static void AddGreyImage(Plot plot, PlotImage image, double low, double high, double scale = 1)
    {
        var intensities = new double[image.Height, image.Width];
        for (int y = 0; y < image.Height; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                intensities[y, x] = image[y, x];
            }
        }
        var heatmap = plot.Add.Heatmap(intensities);
        heatmap.Colormap = new ScottPlot.Colormaps.Grayscale();
        heatmap.ManualRange = new ScottPlot.Range(low, high);
        heatmap.Extent = new CoordinateRect(0, image.Width * scale, 0, image.Height * scale);
        // ScottPlot puts row 0 at the high end of the extent's y range; the inverted y axis (top = 0) shows it at the top.
        plot.Axes.SetLimits(0, image.Width * scale, image.Height * scale, 0);
    }

    /// <summary>
    /// A scale bar near the bottom-left corner: a round length in Å when the pixel size is known (about a fifth of the
    /// image width), else in pixels.
    /// </summary>
    public static void AddScaleBar(Plot plot, double imageWidthPixels, double pixelSize, double unitsPerPixel = 1)
    {
        bool angstrom = pixelSize > 0;
        double widthInUnits = imageWidthPixels * (angstrom ? pixelSize : 1) / 5;
        double length = RoundLength(widthInUnits);
        double pixels = angstrom ? length / pixelSize : length;
        var bar = plot.Add.ScaleBar(pixels * unitsPerPixel, 0);
        bar.XLabel = angstrom ? $"{length:0.###} Å" : $"{length:0.###} px";
        bar.YLabel = "";
        bar.LineColor = Colors.Yellow;
        bar.LineWidth = 3;
        bar.XLabelStyle.ForeColor = Colors.Yellow;
        bar.XLabelStyle.Bold = true;
        // Below the bar, not touching it: the bar line otherwise hides the ring of "Å", which then reads "A".
        bar.XLabelStyle.OffsetY = 5;
    }

    /// <summary>1, 2 or 5 times a power of ten, at most <paramref name="value"/>.</summary>
    public static double RoundLength(double value)
    {
        if (!(value > 0))
        {
            return 1;
        }
        double power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        double mantissa = value / power;
        double step = mantissa >= 5 ? 5 : mantissa >= 2 ? 2 : 1;
        return step * power;
    }
}
