using ScottPlot;

namespace CryoEmPS.Core.Plotting;

/// <summary>
/// A centred 2-D image in Fourier space (a CTF, or a power spectrum beside its CTF² model) on axes of spatial frequency:
/// pixel (x, y) of <see cref="Image"/> sits at ((x − ⌊W/2⌋)·<see cref="FrequencyStep"/>, (y − ⌊H/2⌋)·step), row 0 at the
/// top as in the micrograph pictures (k_y grows downwards). A colour bar shows the scale; <see cref="Labels"/> are written
/// at their (x, y) in axis units, and <see cref="Dividers"/> draws vertical lines (e.g. between two halves).
/// </summary>
public sealed class SpectrumChart
{
    public string Title { get; init; } = "";
    public PlotImage Image { get; init; } = new([0.0], 1, 1, "");
    /// <summary>Axis units per pixel: 1/(n·pixel size) in 1/Å, or 1/n cycles/pixel when the pixel size is unknown.</summary>
    public double FrequencyStep { get; init; } = 1;
    /// <summary>The axes' label, e.g. "spatial frequency (1/Å)".</summary>
    public string AxisLabel { get; init; } = "spatial frequency (1/Å)";
    /// <summary>A blue-white-red scale symmetric about 0 (signed values such as a CTF) instead of grey.</summary>
    public bool Diverging { get; init; }
    /// <summary>The values drawn at the two ends of the colour scale.</summary>
    public double Low { get; init; }
    public double High { get; init; } = 1;
    public string ColorBarLabel { get; init; } = "";
    /// <summary>Text at (X, Y) in axis units (Y is ignored when NaN: the label goes near the top).</summary>
    public IReadOnlyList<PlotMarker> Labels { get; init; } = [];
    /// <summary>x positions (axis units) of vertical divider lines.</summary>
    public IReadOnlyList<double> Dividers { get; init; } = [];
    /// <summary>The picture's width in screen pixels (its height follows the image's aspect ratio).</summary>
    public int Width { get; init; } = 760;

    /// <summary>The chart as PNG bytes.</summary>
    public byte[] ToPng()
    {
        var image = Image;
        double step = FrequencyStep;
        double left = (-(image.Width / 2) - 0.5) * step, right = left + image.Width * step;
        double top = (-(image.Height / 2) - 0.5) * step, bottom = top + image.Height * step;
        var intensities = new double[image.Height, image.Width];
        for (int y = 0; y < image.Height; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                intensities[y, x] = image[y, x];
            }
        }

        var plot = new Plot();
        plot.Title(Title, 14);
        var heatmap = plot.Add.Heatmap(intensities);
        heatmap.Colormap = Diverging ? new ScottPlot.Colormaps.Balance() : new ScottPlot.Colormaps.Grayscale();
        heatmap.ManualRange = new ScottPlot.Range(Low, High);
        heatmap.Extent = new CoordinateRect(left, right, top, bottom);
        // As in ChartStyle.AddGreyImage: the inverted y axis shows row 0 at the top.
        plot.Axes.SetLimits(left, right, bottom, top);
        var colorBar = plot.Add.ColorBar(heatmap);
        colorBar.Label = ColorBarLabel;
        colorBar.LabelStyle.FontSize = 13;
        foreach (double x in Dividers)
        {
            var line = plot.Add.VerticalLine(x, 2, Colors.Yellow);
            line.LinePattern = LinePattern.Dashed;
        }
        foreach (var label in Labels)
        {
            double y = double.IsNaN(label.Y) ? top + 0.04 * (bottom - top) : label.Y;
            var text = plot.Add.Text(label.Label, label.X, y);
            text.LabelFontSize = 13;
            text.LabelBold = true;
            text.LabelFontColor = Colors.Yellow;
            text.LabelBackgroundColor = Colors.Black.WithAlpha(0.6);
            text.LabelAlignment = Alignment.UpperCenter;
            text.LabelPadding = 3;
        }
        plot.Axes.Bottom.Label.Text = AxisLabel;
        plot.Axes.Left.Label.Text = AxisLabel;
        plot.Axes.Bottom.Label.FontSize = 13;
        plot.Axes.Left.Label.FontSize = 13;
        plot.Grid.IsVisible = false;
        // Square pixels: a fixed frame (left axis, colour bar, bottom axis, title) around a data area of the image's aspect.
        const int padLeft = 84, padRight = 136, padBottom = 52, padTop = 40;
        plot.Layout.Fixed(new PixelPadding(padLeft, padRight, padBottom, padTop));
        int width = Math.Max(360, Width);
        int height = (int)Math.Round((width - padLeft - padRight) * (double)image.Height / image.Width) + padBottom + padTop;
        return ChartStyle.Png(plot, width, height);
    }
}
