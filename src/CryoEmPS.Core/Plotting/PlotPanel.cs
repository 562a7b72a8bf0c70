namespace CryoEmPS.Core.Plotting;

/// <summary>One panel of a stacked chart: its y-axis label and the lines drawn in it.</summary>
public sealed record PlotPanel(string YLabel, IReadOnlyList<PlotSeries> Series);
