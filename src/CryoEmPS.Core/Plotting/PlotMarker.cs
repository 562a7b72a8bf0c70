namespace CryoEmPS.Core.Plotting;

/// <summary>A labelled point on a chart (e.g. where an FSC curve crosses its threshold).</summary>
public sealed record PlotMarker(double X, double Y, string Label);
