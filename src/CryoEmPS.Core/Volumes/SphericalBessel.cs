using MathNet.Numerics.Integration;

namespace CryoEmPS.Core.Volumes;

/// <summary>
/// Spherical Bessel functions j_ℓ, integer-order Bessel functions J_m, zeros of j_ℓ, Gauss–Legendre
/// nodes, and normalised associated Legendre functions — the special functions of the Fourier–Bessel
/// model. Every order is computed by Miller's backward recurrence normalised with a sum of squares
/// (Σ(2n+1) j_n² = 1 and J_0² + 2Σ J_n² = 1), which is stable for all orders and arguments (no
/// tables, no factorials). Accuracy ≈ 1e-15 relative to the largest of the computed values.
/// </summary>
public static class SphericalBessel
{
    /// <summary>j_0(x) … j_lmax(x) into <paramref name="result"/> (length ≥ lmax+1).</summary>
    public static void SphericalJ(int lmax, double x, Span<double> result)
    {
        if (lmax < 0) throw new ArgumentOutOfRangeException(nameof(lmax));
        if (result.Length < lmax + 1) throw new ArgumentException("Result span too short.", nameof(result));
        x = Math.Abs(x) * 1.0; // j_ℓ(−x) = (−1)^ℓ j_ℓ(x); callers pass x ≥ 0
        if (x == 0)
        {
            result[0] = 1;
            for (int n = 1; n <= lmax; n++) result[n] = 0;
            return;
        }
        double top = Math.Max(lmax, x);
        int start = (int)(top + 20 + Math.Sqrt(40 * top)) + 1;
        double tNext = 0, t = 1e-30, sumSq = 0;
        // Walk from n = start down to 0; t holds t_n, tNext holds t_{n+1}.
        for (int n = start; n >= 0; n--)
        {
            if (n <= lmax) result[n] = t;
            sumSq += (2 * n + 1) * t * t;
            if (n == 0) break;
            double tPrev = (2 * n + 1) / x * t - tNext;
            tNext = t; t = tPrev;
            if (Math.Abs(t) > 1e100)
            {
                t *= 1e-100; tNext *= 1e-100; sumSq *= 1e-200;
                for (int k = n - 1 + 1; k <= lmax; k++) result[k] *= 1e-100;
            }
        }
        double scale = 1 / Math.Sqrt(sumSq);
        // Fix the sign from whichever of j0, j1 is larger in closed form.
        double j0 = Math.Sin(x) / x;
        double j1 = Math.Abs(x) < 1e-3 ? x / 3 * (1 - x * x / 10) : (Math.Sin(x) / x - Math.Cos(x)) / x;
        double t0 = t, t1 = lmax >= 1 ? result[1] : double.NaN;
        if (lmax < 1)
        {
            // t_1 was not stored; recompute the sign from t0 only.
            if (Math.Sign(t0) != Math.Sign(j0) && Math.Abs(j0) > 0) scale = -scale;
        }
        else if (Math.Abs(j0) >= Math.Abs(j1)) { if (Math.Sign(t0) != Math.Sign(j0)) scale = -scale; }
        else if (Math.Sign(t1) != Math.Sign(j1)) scale = -scale;
        for (int n = 0; n <= lmax; n++) result[n] *= scale;
    }

    /// <summary>j_ℓ(x).</summary>
    public static double SphericalJ(int l, double x)
    {
        Span<double> buf = l < 256 ? stackalloc double[l + 1] : new double[l + 1];
        SphericalJ(l, x, buf);
        return buf[l];
    }

    /// <summary>J_0(x) … J_mmax(x) (integer orders, x ≥ 0) into <paramref name="result"/>.</summary>
    public static void CylindricalJ(int mmax, double x, Span<double> result)
    {
        if (mmax < 0) throw new ArgumentOutOfRangeException(nameof(mmax));
        if (result.Length < mmax + 1) throw new ArgumentException("Result span too short.", nameof(result));
        if (x < 0) throw new ArgumentOutOfRangeException(nameof(x), "x must be ≥ 0.");
        if (x == 0)
        {
            result[0] = 1;
            for (int n = 1; n <= mmax; n++) result[n] = 0;
            return;
        }
        double top = Math.Max(mmax, x);
        int start = (int)(top + 20 + Math.Sqrt(40 * top)) + 1;
        double tNext = 0, t = 1e-30, sumSq = 0, sumEven = 0;
        for (int n = start; n >= 0; n--)
        {
            if (n <= mmax) result[n] = t;
            sumSq += (n == 0 ? 1 : 2) * t * t;
            if (n % 2 == 0) sumEven += (n == 0 ? 1 : 2) * t;
            if (n == 0) break;
            double tPrev = 2 * n / x * t - tNext;
            tNext = t; t = tPrev;
            if (Math.Abs(t) > 1e100)
            {
                t *= 1e-100; tNext *= 1e-100; sumSq *= 1e-200; sumEven *= 1e-100;
                for (int k = n; k <= mmax; k++) result[k] *= 1e-100;
            }
        }
        double scale = 1 / Math.Sqrt(sumSq);
        if (sumEven < 0) scale = -scale; // J0 + 2ΣJ_2k = 1 > 0 fixes the sign
        for (int n = 0; n <= mmax; n++) result[n] *= scale;
    }

    /// <summary>
    /// Positive zeros of j_0 … j_ℓ strictly below <paramref name="limit"/> (a zero within
    /// 1e-10·limit of the limit counts as a tie and is excluded), for every ℓ whose first zero is
    /// below the limit. Zeros of j_ℓ are bracketed by consecutive zeros of j_{ℓ−1} (interlacing),
    /// starting from the exact zeros sπ of j_0, and refined by safeguarded Newton/bisection.
    /// Entry ℓ of the result is the ascending array of zeros of j_ℓ below the limit.
    /// </summary>
    public static double[][] ZerosBelow(double limit)
    {
        if (!(limit > 0) || double.IsInfinity(limit)) throw new ArgumentOutOfRangeException(nameof(limit));
        double cut = limit * (1 - 1e-10);
        // Level 0: sπ for s up to limit/π + limit + 5. Each level loses one bracket and the first zero of
        // j_ℓ exceeds ℓ, so at most 'limit' levels are needed and level ℓ still reaches past the limit;
        // higher levels keep only zeros up to 1.5·limit + 2π (the rest are never needed).
        int k0 = (int)Math.Ceiling(limit / Math.PI + limit) + 5;
        var prev = new double[k0];
        for (int s = 0; s < k0; s++) prev[s] = (s + 1) * Math.PI;
        var result = new List<double[]>();
        for (int l = 0; ; l++)
        {
            double[] cur;
            if (l == 0) cur = prev;
            else
            {
                cur = new double[prev.Length - 1];
                for (int s = 0; s < cur.Length; s++)
                {
                    cur[s] = RefineZero(l, prev[s], prev[s + 1]);
                }
            }
            int count = 0;
            while (count < cur.Length && cur[count] < cut) count++;
            if (count == 0) break;
            if (count == cur.Length) throw new InvalidOperationException($"Zero bracketing ran out of brackets at l={l}: {string.Join(",", cur.Select(v => v.ToString("0.###")))} (internal error).");
            result.Add(cur[..count]);
            prev = cur;
        }
        return result.ToArray();
    }

    /// <summary>The zero of j_ℓ in the open interval (a, b), where j_ℓ changes sign.</summary>
    internal static double RefineZero(int l, double a, double b)
    {
        double fa = SphericalJ(l, a), fb = SphericalJ(l, b);
        if (fa == 0) return a;
        if (fb == 0) return b;
        if (Math.Sign(fa) == Math.Sign(fb)) throw new InvalidOperationException($"No sign change of j_{l} on ({a}, {b}).");
        double x = 0.5 * (a + b);
        Span<double> buf = l + 2 < 256 ? stackalloc double[l + 2] : new double[l + 2];
        for (int it = 0; it < 200; it++)
        {
            SphericalJ(l + 1, x, buf);
            double f = buf[l];
            if (f == 0) return x;
            if (Math.Sign(f) == Math.Sign(fa)) { a = x; fa = f; } else { b = x; }
            // j_ℓ'(x) = (ℓ/x) j_ℓ − j_{ℓ+1}
            double d = l / x * f - buf[l + 1];
            double xn = x - f / d;
            if (!(xn > a && xn < b)) xn = 0.5 * (a + b);
            if (Math.Abs(xn - x) <= 1e-15 * x) return xn;
            x = xn;
            if (b - a <= 4e-16 * x) return x;
        }
        return x;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, (double[] X, double[] W)> GlCache = new();

    /// <summary>Gauss–Legendre nodes and weights on [0, 1] (cached).</summary>
    public static (double[] Nodes, double[] Weights) GaussLegendre01(int order)
    {
        return GlCache.GetOrAdd(order, n =>
        {
            var rule = new GaussLegendreRule(0, 1, n);
            return (rule.Abscissas.ToArray(), rule.Weights.ToArray());
        });
    }

    /// <summary>
    /// Orthonormal associated Legendre functions with the Condon–Shortley phase:
    /// Y_ℓ^m(θ, φ) = p[ℓ, m](cos θ) e^{imφ} for 0 ≤ m ≤ ℓ ≤ lmax, written to p[ℓ(ℓ+1)/2 + m].
    /// Standard stable three-term recurrence in ℓ (no factorials).
    /// </summary>
    public static void NormalizedLegendre(int lmax, double cosTheta, Span<double> p)
    {
        int need = (lmax + 1) * (lmax + 2) / 2;
        if (p.Length < need) throw new ArgumentException("Span too short.", nameof(p));
        double x = cosTheta, sinT = Math.Sqrt(Math.Max(0, 1 - x * x));
        double pmm = Math.Sqrt(1 / (4 * Math.PI));
        for (int m = 0; m <= lmax; m++)
        {
            if (m > 0) pmm *= -Math.Sqrt((2 * m + 1) / (2.0 * m)) * sinT;
            p[m * (m + 1) / 2 + m] = pmm;
            if (m == lmax) break;
            double p1 = x * Math.Sqrt(2 * m + 3) * pmm;
            p[(m + 1) * (m + 2) / 2 + m] = p1;
            double p0 = pmm;
            for (int l = m + 2; l <= lmax; l++)
            {
                double a = Math.Sqrt((4.0 * l * l - 1) / ((double)l * l - (double)m * m));
                double aPrev = Math.Sqrt((4.0 * (l - 1) * (l - 1) - 1) / ((double)(l - 1) * (l - 1) - (double)m * m));
                double pl = a * (x * p1 - p0 / aPrev);
                p[l * (l + 1) / 2 + m] = pl;
                p0 = p1; p1 = pl;
            }
        }
    }
}
