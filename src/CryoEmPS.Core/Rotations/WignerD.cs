using System.Numerics;

namespace CryoEmPS.Core.Rotations;

/// <summary>
/// Wigner-D matrices for the convention f_R(r) = f(Rᵀr) (CONVENTIONS §4):
/// Y_ℓ^m(Rᵀ r̂) = Σ_{m′} D^ℓ_{m′,m}(R) Y_ℓ^{m′}(r̂), so coefficients of a rotated function are z′ = D(R)·z
/// and D(R₁R₂) = D(R₁)D(R₂). Computed in the real spherical-harmonic basis by the Ivanic–Ruedenberg
/// recursion (J. Phys. Chem. 100, 6342 (1996), with the 1998 erratum): ℓ from ℓ−1 and ℓ = 1, directly
/// from the matrix (no Euler angles, no factorials), stable for ℓ in the hundreds.
/// The complex D^ℓ (basis Y_ℓ^m, Condon–Shortley) is U·D_real·U† with the unitary U of
/// <see cref="CryoEmPS.Core.Volumes.FourierBesselBasis"/>'s real parametrisation.
/// </summary>
public static class WignerD
{
    /// <summary>Number of doubles of all real blocks ℓ = 0..ellMax: Σ(2ℓ+1)².</summary>
    public static int BlockLength(int ellMax) => (ellMax + 1) * (2 * ellMax + 1) * (2 * ellMax + 3) / 3;

    /// <summary>Offset of block ℓ in the flat layout: Σ_{ℓ′&lt;ℓ}(2ℓ′+1)².</summary>
    public static int BlockOffset(int ell) => ell == 0 ? 0 : BlockLength(ell - 1);

    // Per (ℓ, m, n) coefficients u, v, w (Ivanic Table 1), cached up to the largest ℓ asked for.
    private static double[][] _uvw = Array.Empty<double[]>();
    private static readonly object Lock = new();

    private static double[][] Coefficients(int ellMax)
    {
        var c = _uvw;
        if (c.Length > ellMax) return c;
        lock (Lock)
        {
            if (_uvw.Length > ellMax) return _uvw;
            int upto = Math.Max(ellMax, 2 * _uvw.Length);
            var t = new double[upto + 1][];
            for (int l = 0; l <= upto; l++)
            {
                if (l < _uvw.Length) { t[l] = _uvw[l]; continue; }
                int d = 2 * l + 1;
                var a = new double[3 * d * d];
                for (int m = -l; m <= l; m++)
                    for (int n = -l; n <= l; n++)
                    {
                        double del = m == 0 ? 1 : 0;
                        double denom = Math.Abs(n) == l ? 2.0 * l * (2.0 * l - 1) : (double)(l + n) * (l - n);
                        int am = Math.Abs(m);
                        int i = 3 * ((m + l) * d + n + l);
                        if (l > 0)
                        {
                            a[i] = Math.Sqrt((double)(l + m) * (l - m) / denom);
                            a[i + 1] = 0.5 * Math.Sqrt((1 + del) * (l + am - 1.0) * (l + am) / denom) * (1 - 2 * del);
                            a[i + 2] = -0.5 * Math.Sqrt(Math.Max(0, (l - am - 1.0) * (l - am)) / denom) * (1 - del);
                        }
                    }
                t[l] = a;
            }
            _uvw = t;
            return t;
        }
    }

    /// <summary>
    /// All real blocks D^ℓ, ℓ = 0..ellMax, of rotation <paramref name="r"/> into <paramref name="dest"/>
    /// (length <see cref="BlockLength"/>): block ℓ at <see cref="BlockOffset"/>, element (m′, m) at
    /// (m′+ℓ)(2ℓ+1) + (m+ℓ), rows and columns ordered m = −ℓ..ℓ of the real harmonics
    /// (√2(−1)^m Re Y_ℓ^m for m &gt; 0, Y_ℓ^0, √2(−1)^m Im Y_ℓ^{|m|} for m &lt; 0).
    /// </summary>
    public static void Real(Rotation r, int ellMax, Span<double> dest)
    {
        if (ellMax < 0) throw new ArgumentOutOfRangeException(nameof(ellMax));
        if (dest.Length < BlockLength(ellMax)) throw new ArgumentException("Destination too short.", nameof(dest));
        var coef = Coefficients(ellMax);
        dest[0] = 1;
        if (ellMax == 0) return;
        // ℓ = 1: real harmonics ∝ (y, z, x) for m = −1, 0, 1; D¹_{m′m} = R[p(m′), p(m)].
        int[] p = { 1, 2, 0 };
        var d1 = dest.Slice(1, 9);
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) d1[i * 3 + j] = r[p[i], p[j]];
        for (int l = 2; l <= ellMax; l++)
        {
            var prev = dest.Slice(BlockOffset(l - 1), (2 * l - 1) * (2 * l - 1));
            var cur = dest.Slice(BlockOffset(l), (2 * l + 1) * (2 * l + 1));
            var a = coef[l];
            int d = 2 * l + 1, dp = 2 * l - 1;
            for (int m = -l; m <= l; m++)
                for (int n = -l; n <= l; n++)
                {
                    int i = 3 * ((m + l) * d + n + l);
                    double u = a[i], v = a[i + 1], w = a[i + 2], sum = 0;
                    if (u != 0) sum += u * P(0, m, n, l, d1, prev, dp);
                    if (v != 0) sum += v * V(m, n, l, d1, prev, dp);
                    if (w != 0) sum += w * W(m, n, l, d1, prev, dp);
                    cur[(m + l) * d + n + l] = sum;
                }
        }
    }

    private static double R1(ReadOnlySpan<double> d1, int i, int j) => d1[(i + 1) * 3 + j + 1];
    private static double Rp(ReadOnlySpan<double> prev, int dp, int l1, int a, int b) => prev[(a + l1) * dp + b + l1];

    private static double P(int i, int a, int b, int l, ReadOnlySpan<double> d1, ReadOnlySpan<double> prev, int dp)
    {
        int l1 = l - 1;
        if (b == l) return R1(d1, i, 1) * Rp(prev, dp, l1, a, l1) - R1(d1, i, -1) * Rp(prev, dp, l1, a, -l1);
        if (b == -l) return R1(d1, i, 1) * Rp(prev, dp, l1, a, -l1) + R1(d1, i, -1) * Rp(prev, dp, l1, a, l1);
        return R1(d1, i, 0) * Rp(prev, dp, l1, a, b);
    }

    private static double V(int m, int n, int l, ReadOnlySpan<double> d1, ReadOnlySpan<double> prev, int dp)
    {
        if (m == 0) return P(1, 1, n, l, d1, prev, dp) + P(-1, -1, n, l, d1, prev, dp);
        if (m > 0)
            return m == 1 ? P(1, 0, n, l, d1, prev, dp) * Math.Sqrt(2)
                          : P(1, m - 1, n, l, d1, prev, dp) - P(-1, -m + 1, n, l, d1, prev, dp);
        return m == -1 ? P(-1, 0, n, l, d1, prev, dp) * Math.Sqrt(2)
                       : P(1, m + 1, n, l, d1, prev, dp) + P(-1, -m - 1, n, l, d1, prev, dp);
    }

    private static double W(int m, int n, int l, ReadOnlySpan<double> d1, ReadOnlySpan<double> prev, int dp)
    {
        if (m > 0) return P(1, m + 1, n, l, d1, prev, dp) + P(-1, -m - 1, n, l, d1, prev, dp);
        return P(1, m - 1, n, l, d1, prev, dp) - P(-1, -m + 1, n, l, d1, prev, dp);
    }

    /// <summary>The real block D^ℓ as a (2ℓ+1)×(2ℓ+1) array [m′+ℓ, m+ℓ].</summary>
    public static double[,] RealBlock(Rotation r, int ell)
    {
        var all = new double[BlockLength(ell)];
        Real(r, ell, all);
        int d = 2 * ell + 1, o = BlockOffset(ell);
        var res = new double[d, d];
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) res[i, j] = all[o + i * d + j];
        return res;
    }

    /// <summary>The complex D^ℓ_{m′,m}(R) as [m′+ℓ, m+ℓ], acting on coefficients of the complex Y_ℓ^m.</summary>
    public static Complex[,] Complex(Rotation r, int ell)
    {
        var dr = RealBlock(r, ell);
        int d = 2 * ell + 1;
        // z = U p: z_0 = p_0; z_m = (−1)^m (p_m − i p_{−m})/√2, z_{−m} = (p_m + i p_{−m})/√2 (m > 0).
        var U = new System.Numerics.Complex[d, d];
        double r2 = 1 / Math.Sqrt(2);
        U[ell, ell] = 1;
        for (int m = 1; m <= ell; m++)
        {
            double sg = (m & 1) == 0 ? 1 : -1;
            U[ell + m, ell + m] = sg * r2; U[ell + m, ell - m] = new System.Numerics.Complex(0, -sg * r2);
            U[ell - m, ell + m] = r2; U[ell - m, ell - m] = new System.Numerics.Complex(0, r2);
        }
        var tmp = new System.Numerics.Complex[d, d];
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++)
            {
                System.Numerics.Complex s = 0;
                for (int k = 0; k < d; k++) s += U[i, k] * dr[k, j];
                tmp[i, j] = s;
            }
        var res = new System.Numerics.Complex[d, d];
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++)
            {
                System.Numerics.Complex s = 0;
                for (int k = 0; k < d; k++) s += tmp[i, k] * System.Numerics.Complex.Conjugate(U[j, k]);
                res[i, j] = s;
            }
        return res;
    }
}
