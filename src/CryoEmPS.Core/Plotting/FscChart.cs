using ScottPlot;

namespace CryoEmPS.Core.Plotting;

/// <summary>
/// A Fourier shell correlation chart: one line per curve against spatial frequency, dashed lines at the thresholds
/// (0.5 for FSC against a known truth, 0.143 for the gold-standard FSC of two half maps) and a labelled marker where
/// each curve crosses its threshold. Plain data: the caller maps its FSC results onto it.
/// </summary>
public sealed class FscChart
{
    public string Title { get; init; } = "Fourier shell correlation";
    /// <summary>"spatial frequency (1/Å)" when the pixel size is known, else "spatial frequency (cycles/pixel)".</summary>
    public string XLabel { get; init; } = "spatial frequency (cycles/pixel)";
    public IReadOnlyList<PlotSeries> Curves { get; init; } = [];
    /// <summary>The crossings to mark (one per curve that crosses; X in the units of the curves).</summary>
    public IReadOnlyList<PlotMarker> Crossings { get; init; } = [];
    public IReadOnlyList<double> Thresholds { get; init; } = [0.5, 0.143];

    /// <summary>The chart as PNG bytes.</summary>
    public byte[] ToPng(int width = 800, int height = 500)
    {
        var plot = new Plot();
        plot.Title(Title);
        plot.XLabel(XLabel);
        plot.YLabel("correlation");
        foreach (double threshold in Thresholds)
        {
            plot.Add.HorizontalLine(threshold, 1.5f, Colors.Gray, LinePattern.Dashed);
        }
        plot.Add.HorizontalLine(0, 1, Colors.LightGray);
        double xmax = 0;
        for (int i = 0; i < Curves.Count; i++)
        {
            var curve = Curves[i];
            var scatter = plot.Add.Scatter(curve.X, curve.Y, ChartStyle.ColorOf(i));
            scatter.LegendText = curve.Label;
            scatter.LineWidth = 2;
            scatter.MarkerSize = 5;
            xmax = Math.Max(xmax, curve.X.Where(double.IsFinite).DefaultIfEmpty(0).Max());
        }
        double right = xmax > 0 ? xmax * 1.02 : 0.5;
        foreach (double threshold in Thresholds)
        {
            var label = plot.Add.Text(threshold.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture), right * 0.005, threshold);
            label.LabelFontColor = Colors.DimGray;
            label.LabelFontSize = 12;
            label.LabelAlignment = Alignment.LowerLeft;
        }
        for (int i = 0; i < Crossings.Count; i++)
        {
            var crossing = Crossings[i];
            if (!double.IsFinite(crossing.X))
            {
                continue;
            }
            var color = ChartStyle.ColorOf(i);
            plot.Add.Marker(crossing.X, crossing.Y, MarkerShape.OpenCircle, 14, color);
            plot.Add.VerticalLine(crossing.X, 1, color, LinePattern.Dotted);
            var text = plot.Add.Text(crossing.Label, crossing.X, crossing.Y);
            text.LabelFontColor = color;
            text.LabelFontSize = 13;
            text.LabelBold = true;
            bool leftOfMarker = crossing.X > 0.6 * right;
            text.OffsetX = leftOfMarker ? -8 : 8;
            text.OffsetY = -8 - 20 * i;
            text.LabelAlignment = leftOfMarker ? Alignment.LowerRight : Alignment.LowerLeft;
        }
        plot.Axes.SetLimits(0, right, -0.25, 1.05);
        plot.Legend.IsVisible = Curves.Count > 0;
        plot.Legend.Alignment = Alignment.UpperRight;
        return ChartStyle.Png(plot, width, height);
    }
}
