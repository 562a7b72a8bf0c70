using ScottPlot;

namespace CryoEmPS.Core.Plotting;

/// <summary>
/// A micrograph (or any large image) in grey with coloured boxes on it (true particles, patches, placements found by a
/// reconstruction), axes in pixels, row 0 at the top, and a scale bar in Å when the pixel size is known. Plain data: the
/// caller maps its objects onto <see cref="Image"/> and <see cref="Boxes"/>.
/// </summary>
public sealed class MicrographChart
{
    public required PlotImage Image { get; init; }
    public IReadOnlyList<PlotBox> Boxes { get; init; } = [];
    /// <summary>Å per pixel (0 = unknown: the scale bar is in pixels).</summary>
    public double PixelSize { get; init; }
    /// <summary>Screen pixels per image pixel; 0 (the default) fits the image into <see cref="MaxSide"/> screen pixels.</summary>
    public double Zoom { get; init; }
    public int MaxSide { get; init; } = 1024;
    public double LowPercentile { get; init; } = 0.5;
    public double HighPercentile { get; init; } = 99.5;

    /// <summary>The screen pixels per image pixel this chart uses.</summary>
    public double Scale => Zoom > 0 ? Zoom : Math.Min(1.0, MaxSide / (double)Math.Max(Image.Width, Image.Height));

    /// <summary>The chart as PNG bytes (the image area is the image size times <see cref="Scale"/>, plus margins).</summary>
    public byte[] ToPng()
    {
        double scale = Scale;
        // Shrink large images by a block mean first, so the heatmap has about one cell per screen pixel.
        int block = scale < 1 ? (int)Math.Floor(1 / scale) : 1;
        var shown = block > 1 ? Shrink(Image, block) : Image;
        var plot = new Plot();
        plot.Title(Image.Title);
        plot.XLabel("x (pixels)");
        plot.YLabel("y (pixels)");
        var (lo, hi) = ChartStyle.Percentiles(shown.Values, LowPercentile, HighPercentile);
        ChartStyle.AddGreyImage(plot, shown, lo, hi, block);
        var groups = Boxes.Select(b => b.Group).Distinct().ToList();
        foreach (var box in Boxes)
        {
            int g = groups.IndexOf(box.Group);
            var rectangle = plot.Add.Rectangle(box.X, box.X + box.Width, box.Y + box.Height, box.Y);
            rectangle.FillStyle.Color = Colors.Transparent;
            rectangle.LineStyle.Color = ChartStyle.ColorOf(g + 2);
            rectangle.LineStyle.Width = 1.5f;
        }
        for (int g = 0; g < groups.Count; g++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = groups[g], LineColor = ChartStyle.ColorOf(g + 2), LineWidth = 3 });
        }
        plot.Legend.IsVisible = groups.Count > 0;
        plot.Legend.Alignment = Alignment.UpperRight;
        ChartStyle.AddScaleBar(plot, Image.Width, PixelSize);
        plot.Axes.SetLimits(0, Image.Width, Image.Height, 0);
        int width = (int)Math.Round(Image.Width * scale) + 110;
        int height = (int)Math.Round(Image.Height * scale) + 100;
        plot.Layout.Fixed(new PixelPadding(80, 30, 60, 40));
        return ChartStyle.Png(plot, width, height);
    }

    private static PlotImage Shrink(PlotImage image, int f)
    {
        int w = image.Width / f;
        int h = image.Height / f;
        var values = new double[w * h];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                double sum = 0;
                for (int dy = 0; dy < f; dy++)
                {
                    for (int dx = 0; dx < f; dx++)
                    {
                        sum += image[y * f + dy, x * f + dx];
                    }
                }
                values[y * w + x] = sum / (f * f);
            }
        }
        return new PlotImage(values, w, h, image.Title);
    }
}
