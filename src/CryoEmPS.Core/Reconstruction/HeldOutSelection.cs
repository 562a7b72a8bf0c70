namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The held-out criterion of a run, row by row: each held-out patch's log-likelihood on the first stage's scale, the row that
/// scores highest (the top), and the row the run returns (the best).
/// <para>
/// Scale: every stage scores over its own rotation grid, and a coarser grid scores every map lower (measured: 0.45 per patch at
/// SNR 10 for the paper's stage 3), so each held-out patch's values in a stage are shifted to make iteration 0, the map the stage
/// was handed, score on that patch as it did in the stage before. The mean over the patches is
/// <see cref="ApproxEmIteration.HeldOutScore"/>.
/// </para>
/// <para>
/// Choice (the one-standard-error rule of cross-validation, within a stage): the top is the map with the highest mean (ties go
/// to the later row); the best is the latest map of the top's stage whose mean paired difference to the top, patch by patch, is
/// within one standard error of that mean. With about 170 held-out patches the maps of a converging stage differ by less than
/// their standard error (measured on the paper benchmark: differences of 0.001–0.005 per patch with standard errors of
/// 0.004–0.008), so taking the highest mean returned whichever map the noise favoured; a later map of the same stage that is no
/// worse within the noise has had more iterations at the same ℓmax and rotation grid. A later stage is taken only when one of its
/// maps scores higher than every earlier map: across stages the scores also carry the noise of the shift between grids, and a
/// stage that only ties may have fitted noise at its higher ℓmax (measured at SNR 3: taking stage 3's later maps within the
/// noise cost 0.33 shell). A map clearly worse than the top is never returned. The top decides adaptive marching.
/// </para>
/// </summary>
internal sealed class HeldOutSelection
{
    private readonly List<double[]> _scores = new();
    // Per row, the number of its stage (counted from the rows with iteration 0).
    private readonly List<int> _stages = new();
    // The per-patch shift of the current stage (raw − score), set by its iteration 0.
    private double[]? _offset;

    /// <summary>The row with the highest score so far among the maps the EM made (−1 before one).</summary>
    public int Top { get; private set; } = -1;

    /// <summary>The row the run would return now (−1 before one).</summary>
    public int Best { get; private set; } = -1;

    /// <summary>Per row added, <see cref="Best"/> just after it (the map a stage ending there hands on).</summary>
    public IReadOnlyList<int> BestAfter => _bestAfter;

    private readonly List<int> _bestAfter = new();

    /// <summary>
    /// Adds the next row: its held-out patches' log-likelihoods <paramref name="logLikelihoods"/> (the same patches, in the same
    /// order, in every row); <paramref name="iteration"/> 0 starts a stage; <paramref name="candidate"/>: a map the EM made, which may
    /// be returned. Returns the row's score (the mean of its patches' values on the first stage's scale).
    /// </summary>
    public double Add(int iteration, double[] logLikelihoods, bool candidate)
    {
        if (_scores.Count > 0 && logLikelihoods.Length != _scores[0].Length)
        {
            throw new ArgumentException(
                $"Row {_scores.Count} scores {logLikelihoods.Length} held-out patches; the rows before scored {_scores[0].Length}.",
                nameof(logLikelihoods));
        }

        if (iteration == 0)
        {
            // The stage's first row scores the map it was handed: the best so far (the last row before it without one).
            var handedOn = _scores.Count == 0 ? null : _scores[Best >= 0 ? Best : _scores.Count - 1];
            _offset = handedOn == null ? new double[logLikelihoods.Length] : logLikelihoods.Select((v, i) => v - handedOn[i]).ToArray();
        }

        var offset = _offset ?? new double[logLikelihoods.Length];
        var scores = logLikelihoods.Select((v, i) => v - offset[i]).ToArray();
        _scores.Add(scores);
        _stages.Add((_stages.Count == 0 ? 0 : _stages[^1]) + (iteration == 0 ? 1 : 0));
        int row = _scores.Count - 1;
        if (candidate)
        {
            if (Top < 0 || !(Mean(scores) < Mean(_scores[Top])))
            {
                Top = row;
                Best = row;
            }
            else if (_stages[row] == _stages[Top] && WithinOneStandardError(scores, _scores[Top]))
            {
                Best = row;
            }
        }

        _bestAfter.Add(Best);
        return Mean(scores);
    }

    /// <summary>
    /// True when the mean of the paired differences <paramref name="scores"/> − <paramref name="top"/> is at least minus its standard
    /// error (the sample standard deviation of the differences over √n).
    /// </summary>
    public static bool WithinOneStandardError(double[] scores, double[] top)
    {
        int n = scores.Length;
        if (n < 2)
        {
            return !(Mean(scores) < Mean(top));
        }

        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            mean += scores[i] - top[i];
        }

        mean /= n;
        double squares = 0;
        for (int i = 0; i < n; i++)
        {
            double d = scores[i] - top[i] - mean;
            squares += d * d;
        }

        double standardError = Math.Sqrt(squares / (n - 1) / n);
        return mean >= -standardError;
    }

    private static double Mean(double[] values) => values.Length == 0 ? double.NaN : values.Average();
}
