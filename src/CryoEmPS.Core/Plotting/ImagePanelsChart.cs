using ScottPlot;

namespace CryoEmPS.Core.Plotting;

/// <summary>
/// A row of labelled greyscale panels (e.g. a volume's central slices and its projection), each with a scale bar in Å
/// when the pixel size is known. Panels with the same <see cref="ScaleGroups"/> entry share one grey scale.
/// </summary>
public sealed class ImagePanelsChart
{
    public string Title { get; init; } = "";
    public IReadOnlyList<PlotImage> Panels { get; init; } = [];
    /// <summary>One group number per panel (null: every panel has its own grey scale).</summary>
    public IReadOnlyList<int>? ScaleGroups { get; init; }
    /// <summary>Å per pixel (0 = unknown: the scale bar is in pixels).</summary>
    public double PixelSize { get; init; }
    /// <summary>Screen pixels per image pixel.</summary>
    public double Zoom { get; init; } = 8;
    public double LowPercentile { get; init; } = 0.5;
    public double HighPercentile { get; init; } = 99.5;

    /// <summary>The chart as PNG bytes.</summary>
    public byte[] ToPng()
    {
        var plots = new List<Plot>();
        int side = 0;
        for (int i = 0; i < Panels.Count; i++)
        {
            var panel = Panels[i];
            side = Math.Max(side, Math.Max(panel.Width, panel.Height));
            int group = ScaleGroups?[i] ?? -1 - i;
            var members = Enumerable.Range(0, Panels.Count).Where(k => (ScaleGroups?[k] ?? -1 - k) == group);
            var (lo, hi) = ChartStyle.Percentiles(members.SelectMany(k => Panels[k].Values), LowPercentile, HighPercentile);
            var plot = new Plot();
            plot.Title(panel.Title, 13);
            ChartStyle.AddGreyImage(plot, panel, lo, hi);
            ChartStyle.AddScaleBar(plot, panel.Width, PixelSize);
            plot.Axes.Frameless();
            plot.Axes.Title.IsVisible = true;
            plot.Layout.Fixed(new PixelPadding(6, 6, 6, 34));
            plot.Grid.IsVisible = false;
            plots.Add(plot);
        }
        if (plots.Count == 0)
        {
            plots.Add(new Plot());
        }
        var multiplot = ChartStyle.Multiplot(plots);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        int panelSide = Math.Max(120, (int)Math.Round(side * Zoom));
        return ChartStyle.Png(multiplot, Panels.Count * (panelSide + 12), panelSide + 40);
    }
}
