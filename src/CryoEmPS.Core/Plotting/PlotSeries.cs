namespace CryoEmPS.Core.Plotting;

/// <summary>One line of a chart: a label and matching x and y values (NaN values leave a gap).</summary>
public sealed record PlotSeries(string Label, double[] X, double[] Y);
