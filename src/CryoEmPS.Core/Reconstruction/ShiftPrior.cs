namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The translation prior ρ of eq. (32) and the shift bookkeeping of eq. (19).
/// A shift s = (s_y, s_x) ∈ {0..2L−1}² places the projection so that patch[y, x] = (Z P)[(y + s_y) mod 2L, (x + s_x) mod 2L].
/// For s &lt; L that is the linear lag d = s; for s &gt; L it is d = s − 2L; s = L on either axis leaves the patch empty.
/// So every non-empty shift is a lag pair (d_y, d_x) ∈ {−(L−1)..L−1}², and patch[y, x] = p[y + d_y, x + d_x] where
/// that pixel lies in the L×L projection (zero elsewhere).
/// ρ[(L, L)] = v (the empty patch); ρ = 0 on the other 2(2L−1) shifts with s_x = L or s_y = L; every one of the
/// (2L−1)² lag pairs has (1 − v)/(2L−1)². It sums to 1.
/// </summary>
public static class ShiftPrior
{
    /// <summary>Number of lags per axis, 2L−1.</summary>
    public static int LagsPerAxis(int l) => 2 * l - 1;

    /// <summary>The shift s ∈ {0..2L−1} of lag d ∈ {−(L−1)..L−1}: s = d mod 2L.</summary>
    public static int ShiftOfLag(int d, int l) => d >= 0 ? d : d + 2 * l;

    /// <summary>The lag of shift s, or null for the empty shift s = L.</summary>
    public static int? LagOfShift(int s, int l) => s < l ? s : s == l ? null : s - 2 * l;

    /// <summary>ρ[s] for the shift (s_y, s_x) under empty-patch probability v (eq. 32).</summary>
    public static double Probability(int sy, int sx, int l, double v)
    {
        if (sy == l && sx == l) return v;
        if (sy == l || sx == l) return 0;
        int n = LagsPerAxis(l);
        return (1 - v) / ((double)n * n);
    }

    /// <summary>The prior of one lag pair, (1 − v)/(2L−1)².</summary>
    public static double LagProbability(int l, double v) { int n = LagsPerAxis(l); return (1 - v) / ((double)n * n); }

    /// <summary>
    /// The FFT side used for the linear correlations: the smallest even M ≥ 2L−1 whose prime factors are 2, 3 and 5
    /// (FFTW is fastest there; L = 17 gives 36, which runs 2.6× faster than 34). Any M ≥ 2L−1 gives the same result.
    /// </summary>
    public static int FastFftSize(int l)
    {
        for (int m = Math.Max(2, 2 * l - 1); ; m++)
        {
            if ((m & 1) != 0) continue;
            int r = m;
            foreach (int p in new[] { 2, 3, 5 }) while (r % p == 0) r /= p;
            if (r == 1) return m;
        }
    }
}
