using CryoEmPS.Core.Projection;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The translation prior ρ of eq. (32) and the shift bookkeeping of eq. (19).
/// A shift s = (s_y, s_x) ∈ {0..2L−1}² places the projection so that patch[y, x] = (Z P)[(y + s_y) mod 2L, (x + s_x) mod 2L].
/// For s &lt; L that is the linear lag d = s; for s &gt; L it is d = s − 2L; s = L on either axis leaves the patch empty.
/// So every non-empty shift is a lag pair (d_y, d_x) ∈ {−(L−1)..L−1}², and patch[y, x] = p[y + d_y, x + d_x] where
/// that pixel lies in the L×L projection (zero elsewhere).
/// ρ[(L, L)] = v (the empty patch); ρ = 0 on the other 2(2L−1) shifts with s_x = L or s_y = L; every one of the
/// (2L−1)² lag pairs has (1 − v)/(2L−1)². It sums to 1.
/// <para>
/// An instance is the prior one E-step consumes: the log-weight of the empty patch and of every lag (uniform over the
/// lags today, so the E-step adds one constant; a non-uniform prior gives <see cref="LagLogWeights"/>, which the E-step
/// adds to every lag's log-likelihood), and <see cref="Updated"/> is its M-step (eq. 31).
/// </para>
/// </summary>
public sealed class ShiftPrior
{
    /// <summary>The uniform prior of eq. (32) over the lags of <paramref name="forward"/> with empty-patch probability v.</summary>
    public ShiftPrior(ForwardModel forward, double emptyProbability)
        : this(forward.LagsPerAxis, emptyProbability, null)
    {
    }

    /// <summary>
    /// A prior with the same v whose lag pairs are weighted by <paramref name="lagWeights"/> ([d_y + L − 1, d_x + L − 1], ≥ 0,
    /// not all 0): ρ_d = (1 − v)·w_d / Σw. For example a prior that favours centred particles.
    /// </summary>
    public ShiftPrior(ForwardModel forward, double emptyProbability, double[] lagWeights)
        : this(forward.LagsPerAxis, emptyProbability, null)
    {
        int lags = LagsPerAxis * LagsPerAxis;
        if (lagWeights.Length != lags)
        {
            throw new ArgumentException($"The lag weights need {lags} entries, one per lag pair; got {lagWeights.Length}.",
                nameof(lagWeights));
        }

        double total = PriorWeights.CheckedTotal(lagWeights, "Lag", nameof(lagWeights));

        // log ρ_d − log ρ_uniform = log(w_d · lags / Σw); a lag of weight 0 gets −∞ (never chosen).
        _lagLogWeights = lagWeights.Select(w => Math.Log(w * lags / total)).ToArray();
    }

    /// <summary>
    /// The prior over <paramref name="lagsPerAxis"/>² lag pairs with relative log-weights <paramref name="lagLogWeights"/>
    /// (null: uniform).
    /// </summary>
    private ShiftPrior(int lagsPerAxis, double emptyProbability, double[]? lagLogWeights)
    {
        if (!(emptyProbability >= 0 && emptyProbability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(emptyProbability), emptyProbability, "v must lie in [0, 1].");
        }

        LagsPerAxis = lagsPerAxis;
        EmptyProbability = emptyProbability;
        _lagLogWeights = lagLogWeights;
    }

    private readonly double[]? _lagLogWeights;

    /// <summary>Lags per axis of the forward model (2L − 1 without a filter).</summary>
    public int LagsPerAxis { get; }

    /// <summary>v, the probability that a patch is empty.</summary>
    public double EmptyProbability { get; }

    /// <summary>ρ of one lag pair, (1 − v)/(lags per axis)².</summary>
    public double LagWeight => (1 - EmptyProbability) / ((double)LagsPerAxis * LagsPerAxis);

    /// <summary>log ρ of the empty patch: log v.</summary>
    public double EmptyLogWeight => Math.Log(EmptyProbability);

    /// <summary>log ρ of one lag pair when all lags are equally likely (the paper's prior).</summary>
    public double UniformLagLogWeight => Math.Log(LagWeight);

    /// <summary>
    /// Per-lag log-weights relative to <see cref="UniformLagLogWeight"/>, [d_y + L − 1, d_x + L − 1], or null when the prior is
    /// uniform over the lags (the paper's; the E-step then adds nothing per lag).
    /// </summary>
    public IReadOnlyList<double>? LagLogWeights => _lagLogWeights;

    /// <summary>
    /// The M-step of the prior (eq. 31 with posteriors): v becomes the mean posterior probability that a patch is empty; the
    /// relative lag weights, if any, are kept.
    /// </summary>
    public ShiftPrior Updated(EStepResult statistics) => new(LagsPerAxis, statistics.EmptyPosterior, _lagLogWeights);

    /// <summary>Number of lags per axis, 2L−1.</summary>
    public static int LagsPerAxisOf(int l) => 2 * l - 1;

    /// <summary>The shift s ∈ {0..2L−1} of lag d ∈ {−(L−1)..L−1}: s = d mod 2L.</summary>
    public static int ShiftOfLag(int d, int l) => d >= 0 ? d : d + 2 * l;

    /// <summary>The lag of shift s, or null for the empty shift s = L.</summary>
    public static int? LagOfShift(int s, int l) => s < l ? s : s == l ? null : s - 2 * l;

    /// <summary>ρ[s] for the shift (s_y, s_x) under empty-patch probability v (eq. 32).</summary>
    public static double Probability(int sy, int sx, int l, double v)
    {
        if (sy == l && sx == l)
        {
            return v;
        }

        if (sy == l || sx == l)
        {
            return 0;
        }

        return LagProbability(l, v);
    }

    /// <summary>The prior of one lag pair, (1 − v)/(2L−1)².</summary>
    public static double LagProbability(int l, double v)
    {
        int n = LagsPerAxisOf(l);
        return (1 - v) / ((double)n * n);
    }

    /// <summary>
    /// The FFT side for the linear correlations of L×L patches and unfiltered projections: <see cref="ForwardModel.FastFftSize"/>(2L − 1).
    /// </summary>
    public static int FastFftSize(int l) => ForwardModel.FastFftSize(2 * l - 1);
}
