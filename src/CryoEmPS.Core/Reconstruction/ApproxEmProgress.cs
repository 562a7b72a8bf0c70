namespace CryoEmPS.Core.Reconstruction;

/// <summary>A progress report of Algorithm 1.</summary>
public sealed class ApproxEmProgress
{
    public int Stage { get; init; }
    public int StageCount { get; init; }
    public int EllMax { get; init; }
    public int Iteration { get; init; }
    public int MaxIterations { get; init; }
    public string Phase { get; init; } = "";
    /// <summary>Fraction of the whole run done (0..1), by E-steps.</summary>
    public double Fraction { get; init; }
    public double LastLogLikelihoodPerPatch { get; init; } = double.NaN;
    /// <summary>Estimated seconds remaining (−1 unknown).</summary>
    public int SecondsRemaining { get; init; } = -1;
    /// <summary>A completed iteration (one per row), or null for a mid-iteration update.</summary>
    public ApproxEmIteration? Completed { get; init; }
    public string? Message { get; init; }
}
