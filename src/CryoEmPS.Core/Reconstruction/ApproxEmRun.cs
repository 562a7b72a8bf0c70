namespace CryoEmPS.Core.Reconstruction;

/// <summary>The result of <see cref="ApproxEm.Run"/>.</summary>
public sealed class ApproxEmRun
{
    internal ApproxEmRun(double[] x, double v, List<ApproxEmIteration> history, int stages, bool resumed, int resumedRows)
    {
        Coefficients = x;
        EmptyProbability = v;
        History = history;
        StageCount = stages;
        Resumed = resumed;
        ResumedRows = resumedRows;
    }

    /// <summary>The final coefficients (in the last stage's parameter space).</summary>
    public double[] Coefficients { get; }
    /// <summary>v, the final probability that a patch is empty.</summary>
    public double EmptyProbability { get; }
    public IReadOnlyList<ApproxEmIteration> History { get; }
    public int StageCount { get; }
    public bool Resumed { get; }
    /// <summary>How many history rows came from the checkpoint.</summary>
    public int ResumedRows { get; }
    /// <summary>With half-sets: the two half maps' coefficients (the returned iterate's, in the last stage's space); else null.</summary>
    public double[][]? HalfCoefficients { get; init; }
    /// <summary>Per patch: the posterior probability that it is empty, from the last stage's statistics (NaN: not scored there).</summary>
    public double[] PatchEmptyProbability { get; init; } = Array.Empty<double>();
    /// <summary>σ² at the end of the run (estimated, or as given).</summary>
    public double NoiseVariance { get; init; }
    /// <summary>The history row of the returned iterate.</summary>
    public int BestRow { get; init; }
    /// <summary>For every stage, the history row whose map it handed on (or returned): the best by the criterion so far.</summary>
    public int[] StageResultRows { get; init; } = Array.Empty<int>();
}
