using ScottPlot;

namespace CryoEmPS.Core.Plotting;

/// <summary>
/// The history of an iterative run as stacked panels sharing one x axis (the step: every row of every stage in order),
/// with a vertical line and a label at the start of each stage (e.g. "stage 2: lmax 10"). Plain data: the caller maps
/// its history rows onto <see cref="Step"/> and <see cref="Panels"/>.
/// </summary>
public sealed class HistoryChart
{
    public string Title { get; init; } = "EM history";
    public string XLabel { get; init; } = "step (every iteration of every stage, in order)";
    /// <summary>The x value of each row.</summary>
    public double[] Step { get; init; } = [];
    /// <summary>The panels from top to bottom; each series has one y value per step (NaN: not measured).</summary>
    public IReadOnlyList<PlotPanel> Panels { get; init; } = [];
    /// <summary>Where each stage starts (X) and its label.</summary>
    public IReadOnlyList<PlotMarker> StageStarts { get; init; } = [];

    /// <summary>The chart as PNG bytes; <paramref name="panelHeight"/> pixels per panel.</summary>
    public byte[] ToPng(int width = 900, int panelHeight = 220)
    {
        var plots = new List<Plot>();
        double xmin = Step.Length > 0 ? Step.Min() : 0;
        double xmax = Step.Length > 0 ? Step.Max() : 1;
        for (int p = 0; p < Panels.Count; p++)
        {
            var plot = new Plot();
            var panel = Panels[p];
            plot.YLabel(panel.YLabel);
            if (p == 0)
            {
                plot.Title(Title);
                // Above the stage labels, which sit on the top edge of the first panel.
                plot.Axes.Title.Label.OffsetY = -24;
            }
            if (p == Panels.Count - 1)
            {
                plot.XLabel(XLabel);
            }
            for (int s = 0; s < StageStarts.Count; s++)
            {
                var start = StageStarts[s];
                var line = plot.Add.VerticalLine(start.X, 1.5f, Colors.Gray, LinePattern.Dashed);
                if (p == 0)
                {
                    line.LabelText = start.Label;
                    line.LabelOppositeAxis = true;
                }
            }
            for (int i = 0; i < panel.Series.Count; i++)
            {
                var series = panel.Series[i];
                var finite = Enumerable.Range(0, Math.Min(series.X.Length, series.Y.Length))
                    .Where(k => double.IsFinite(series.Y[k])).ToArray();
                if (finite.Length == 0)
                {
                    var none = plot.Add.Text("(not measured in this run)", (xmin + xmax) / 2, 0);
                    none.LabelFontColor = Colors.Gray;
                    none.LabelAlignment = Alignment.MiddleCenter;
                    continue;
                }
                var scatter = plot.Add.Scatter(finite.Select(k => series.X[k]).ToArray(), finite.Select(k => series.Y[k]).ToArray(),
                    ChartStyle.ColorOf(p + i));
                scatter.LegendText = series.Label;
                scatter.LineWidth = 2;
                scatter.MarkerSize = 6;
            }
            plot.Legend.IsVisible = panel.Series.Count > 1;
            plot.Axes.AutoScale();
            plot.Axes.SetLimitsX(xmin - 0.5, xmax + 0.5);
            plot.Legend.Alignment = EmptiestCorner(panel, plot.Axes.GetLimits());
            // The same left and right margins in every panel, so the shared x axis and the stage lines line up.
            plot.Layout.Fixed(new PixelPadding(90, 30, p == Panels.Count - 1 ? 50 : 25, p == 0 ? 75 : 12));
            plots.Add(plot);
        }
        if (plots.Count == 0)
        {
            plots.Add(new Plot());
        }
        var multiplot = ChartStyle.Multiplot(plots);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
        multiplot.SharedAxes.ShareX(plots);
        return ChartStyle.Png(multiplot, width, Math.Max(1, Panels.Count) * panelHeight + 100);
    }

    /// <summary>The corner of the panel whose outer 40 % × 40 % holds the fewest points: where the legend hides the least.</summary>
    private static Alignment EmptiestCorner(PlotPanel panel, AxisLimits limits)
    {
        var corners = new[]
        {
            (Alignment.UpperRight, 1, 1), (Alignment.LowerRight, 1, 0), (Alignment.UpperLeft, 0, 1), (Alignment.LowerLeft, 0, 0),
        };
        double width = limits.Right - limits.Left, height = limits.Top - limits.Bottom;
        int Count(int right, int top) => panel.Series.Sum(series => Enumerable.Range(0, Math.Min(series.X.Length, series.Y.Length))
            .Count(k =>
            {
                double u = (series.X[k] - limits.Left) / width, v = (series.Y[k] - limits.Bottom) / height;
                return double.IsFinite(v) && (right == 1 ? u > 0.6 : u < 0.4) && (top == 1 ? v > 0.6 : v < 0.4);
            }));
        return corners.OrderBy(corner => Count(corner.Item2, corner.Item3)).First().Item1;
    }
}
