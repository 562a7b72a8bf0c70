using System.Collections.Concurrent;
using System.Numerics;

namespace CryoEmPS.Core.Volumes;

/// <summary>
/// The Fourier–Bessel basis of eqs. (6)–(8) for volumes of side L, truncated at ℓmax.
/// <para>
/// Fourier side (CONVENTIONS §4): f̂(ck, θ, φ) = Σ x_{ℓ,m,s} Y_ℓ^m(θ, φ) j_{ℓ,s}(k), k = |ξ|/c ≤ 1,
/// c = 1/2, j_{ℓ,s}(k) = 4/|j_{ℓ+1}(u_{ℓ,s})| · j_ℓ(u_{ℓ,s} k), Y_ℓ^m complex with the Condon–Shortley
/// phase. S(ℓ) = #{zeros u of j_ℓ with u &lt; 2πRc}, R = floor(L/2) (the ℓ = 0 tie u = Rπ excluded).
/// With c = 1/2 the normalisation 4/|j_{ℓ+1}| makes the functions orthonormal in L²(ℝ³):
/// c³·16·∫₀¹ j_ℓ(uk)² k² dk / j_{ℓ+1}(u)² = c³·8 = 1, so ‖f‖² = Σ|x|².
/// </para>
/// <para>
/// Real parametrisation (exactly one real parameter per complex coefficient). With
/// x_{ℓ,m,s} = (−i)^ℓ z_{ℓ,m,s}, the volume in real space is f(r) = Σ z_{ℓ,m,s} F_{ℓ,s}(|r|) Y_ℓ^m(r̂)
/// with the real radial function F_{ℓ,s}(r) = 4πc³ ∫₀¹ j_{ℓ,s}(k) j_ℓ(2πckr) k² dk. The real
/// parameters p are the coefficients of f on the real orthonormal functions F_{ℓ,s}(|r|)·Y_{ℓm}(r̂),
/// Y_{ℓm} the standard real spherical harmonics (√2(−1)^m Re Y_ℓ^m for m &gt; 0, Y_ℓ^0, √2(−1)^m Im Y_ℓ^{|m|}
/// for m &lt; 0). Explicitly: m = 0: x = (−i)^ℓ p_{ℓ,0,s}; m &gt; 0: x_{ℓ,m,s} = (−i)^ℓ (−1)^m (p_{ℓ,m,s} − i p_{ℓ,−m,s})/√2
/// and x_{ℓ,−m,s} = (−i)^ℓ (p_{ℓ,m,s} + i p_{ℓ,−m,s})/√2, which satisfies x_{ℓ,−m,s} = (−1)^{ℓ+m} conj(x_{ℓ,m,s}) and Σp² = Σ|x|².
/// </para>
/// <para>
/// Ordering (of real parameters and of complex coefficients alike): ℓ = 0..ℓmax outermost, then
/// s = 1..S(ℓ), then m = −ℓ..ℓ: index = Offset(ℓ) + (s−1)(2ℓ+1) + (m+ℓ). Truncating ℓmax keeps a prefix.
/// </para>
/// </summary>
public sealed class FourierBesselBasis
{
    /// <summary>The bandlimit c in cycles/pixel.</summary>
    public const double Bandlimit = 0.5;

    private static readonly ConcurrentDictionary<int, double[][]> ZeroCache = new();
    private static readonly ConcurrentDictionary<(int, int), FourierBesselBasis> BasisCache = new();

    private readonly int[] _radialCounts;
    private readonly int[] _offsets;
    private readonly double[][] _zeros;
    private readonly double[][] _norms;

    private FourierBesselBasis(int size, int ellMax)
    {
        Size = size; EllMax = ellMax;
        var all = AllZeros(size);
        _radialCounts = new int[ellMax + 1];
        _offsets = new int[ellMax + 2];
        _zeros = new double[ellMax + 1][];
        _norms = new double[ellMax + 1][];
        for (int l = 0; l <= ellMax; l++)
        {
            _zeros[l] = all[l];
            _radialCounts[l] = all[l].Length;
            _offsets[l + 1] = _offsets[l] + (2 * l + 1) * all[l].Length;
            _norms[l] = new double[all[l].Length];
            for (int s = 0; s < all[l].Length; s++)
                _norms[l][s] = 4 / Math.Abs(SphericalBessel.SphericalJ(l + 1, all[l][s]));
        }
        Count = _offsets[ellMax + 1];
    }

    /// <summary>The basis for side <paramref name="size"/> and ℓmax = <paramref name="ellMax"/> (cached).</summary>
    public static FourierBesselBasis Create(int size, int ellMax)
    {
        if (size < 2) throw new ArgumentOutOfRangeException(nameof(size), size, "The Fourier–Bessel basis needs a volume side L ≥ 2 (R = floor(L/2) ≥ 1).");
        if (ellMax < 0) throw new ArgumentOutOfRangeException(nameof(ellMax), ellMax, "ℓmax must be ≥ 0.");
        int max = MaxEll(size);
        if (ellMax > max)
            throw new ArgumentOutOfRangeException(nameof(ellMax), ellMax,
                $"ℓmax = {ellMax} is above the largest ℓ with S(ℓ) > 0 for L = {size}, which is {max}. Use ℓmax ≤ {max}.");
        return BasisCache.GetOrAdd((size, ellMax), k => new FourierBesselBasis(k.Item1, k.Item2));
    }

    /// <summary>The largest ℓ with S(ℓ) &gt; 0 for side <paramref name="size"/>.</summary>
    public static int MaxEll(int size)
    {
        if (size < 2) throw new ArgumentOutOfRangeException(nameof(size), size, "The Fourier–Bessel basis needs L ≥ 2.");
        return AllZeros(size).Length - 1;
    }

    /// <summary>Zeros u_{ℓ,s} &lt; 2πRc of j_ℓ for every ℓ with at least one (cached per L).</summary>
    internal static double[][] AllZeros(int size)
        => ZeroCache.GetOrAdd(size, l => SphericalBessel.ZerosBelow(2 * Math.PI * (l / 2) * Bandlimit));

    public int Size { get; }
    public int EllMax { get; }
    /// <summary>R = floor(L/2).</summary>
    public int Radius => Size / 2;
    /// <summary>Number of real parameters (= number of complex coefficients).</summary>
    public int Count { get; }
    /// <summary>S(ℓ) for ℓ = 0..EllMax (a copy).</summary>
    public int[] RadialCounts => (int[])_radialCounts.Clone();
    /// <summary>S(ℓ).</summary>
    public int RadialCount(int ell) => _radialCounts[ell];
    /// <summary>Index of the first parameter with this ℓ.</summary>
    public int Offset(int ell) => _offsets[ell];
    /// <summary>u_{ℓ,s}, s = 1..S(ℓ).</summary>
    public double Zero(int ell, int s) => _zeros[ell][s - 1];
    /// <summary>4/|j_{ℓ+1}(u_{ℓ,s})|.</summary>
    public double Normalization(int ell, int s) => _norms[ell][s - 1];

    /// <summary>Index of (ℓ, m, s), s = 1..S(ℓ), m = −ℓ..ℓ.</summary>
    public int Index(int ell, int m, int s)
    {
        if (ell < 0 || ell > EllMax || m < -ell || m > ell || s < 1 || s > _radialCounts[ell])
            throw new ArgumentOutOfRangeException(nameof(ell), $"(ℓ, m, s) = ({ell}, {m}, {s}) is not in the basis (L = {Size}, ℓmax = {EllMax}).");
        return _offsets[ell] + (s - 1) * (2 * ell + 1) + m + ell;
    }

    /// <summary>(ℓ, m, s) of an index.</summary>
    public (int Ell, int M, int S) Unindex(int index)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index));
        int l = 0;
        while (_offsets[l + 1] <= index) l++;
        int r = index - _offsets[l];
        return (l, r % (2 * l + 1) - l, r / (2 * l + 1) + 1);
    }

    /// <summary>The normalised radial function j_{ℓ,s}(k) of eq. (7).</summary>
    public double RadialFunction(int ell, int s, double k) => _norms[ell][s - 1] * SphericalBessel.SphericalJ(ell, _zeros[ell][s - 1] * k);

    /// <summary>The paper's complex coefficients x_{ℓ,m,s} (same ordering) from the real parameters.</summary>
    public Complex[] ToComplex(ReadOnlySpan<double> p)
    {
        if (p.Length != Count) throw new ArgumentException($"Expected {Count} real parameters, got {p.Length}.", nameof(p));
        var x = new Complex[Count];
        double r2 = 1 / Math.Sqrt(2);
        for (int l = 0; l <= EllMax; l++)
        {
            Complex ph = MinusIPow(l);
            for (int s = 0; s < _radialCounts[l]; s++)
            {
                int b = _offsets[l] + s * (2 * l + 1) + l;
                x[b] = ph * p[b];
                for (int m = 1; m <= l; m++)
                {
                    double a = p[b + m], c = p[b - m];
                    double sg = (m & 1) == 0 ? 1 : -1;
                    x[b + m] = ph * sg * new Complex(a * r2, -c * r2);
                    x[b - m] = ph * new Complex(a * r2, c * r2);
                }
            }
        }
        return x;
    }

    /// <summary>
    /// The real parameters from complex coefficients x_{ℓ,m,s}. The coefficients must satisfy
    /// x_{ℓ,−m,s} = (−1)^{ℓ+m} conj(x_{ℓ,m,s}) (a real volume); the real part of the projection onto
    /// that subspace is returned, so a non-symmetric input gives its least-squares real fit.
    /// </summary>
    public double[] FromComplex(ReadOnlySpan<Complex> x)
    {
        if (x.Length != Count) throw new ArgumentException($"Expected {Count} complex coefficients, got {x.Length}.", nameof(x));
        var p = new double[Count];
        double r2 = 1 / Math.Sqrt(2);
        for (int l = 0; l <= EllMax; l++)
        {
            Complex inv = Complex.Conjugate(MinusIPow(l)); // 1/(−i)^ℓ
            for (int s = 0; s < _radialCounts[l]; s++)
            {
                int b = _offsets[l] + s * (2 * l + 1) + l;
                p[b] = (inv * x[b]).Real;
                for (int m = 1; m <= l; m++)
                {
                    double sg = (m & 1) == 0 ? 1 : -1;
                    Complex zp = inv * x[b + m] * sg, zm = inv * x[b - m];
                    // zp = (a − ic)/√2, zm = (a + ic)/√2
                    p[b + m] = (zp.Real + zm.Real) * r2;
                    p[b - m] = (zm.Imaginary - zp.Imaginary) * r2;
                }
            }
        }
        return p;
    }

    internal static Complex MinusIPow(int l) => (l & 3) switch { 0 => 1, 1 => new Complex(0, -1), 2 => -1, _ => new Complex(0, 1) };

    /// <summary>
    /// Real spherical harmonics Y_{ℓm}(r̂), ℓ ≤ lmax, at direction (x, y, z) (need not be normalised;
    /// the origin gives the ℓ = 0 value only), into y[ℓ² + ℓ + m].
    /// </summary>
    public static void RealSphericalHarmonics(int lmax, double x, double y, double z, Span<double> result)
    {
        double r = Math.Sqrt(x * x + y * y + z * z);
        Span<double> p = stackalloc double[(lmax + 1) * (lmax + 2) / 2];
        double ct = r > 0 ? z / r : 1;
        SphericalBessel.NormalizedLegendre(lmax, ct, p);
        double phi = Math.Atan2(y, x);
        for (int l = 0; l <= lmax; l++)
        {
            int c = l * l + l, pb = l * (l + 1) / 2;
            result[c] = p[pb];
            for (int m = 1; m <= l; m++)
            {
                double f = Math.Sqrt(2) * ((m & 1) == 0 ? 1 : -1) * p[pb + m];
                result[c + m] = f * Math.Cos(m * phi);
                result[c - m] = f * Math.Sin(m * phi);
            }
        }
    }

    /// <summary>Complex Y_ℓ^m(θ, φ) with the Condon–Shortley phase, eq. (8).</summary>
    public static Complex SphericalHarmonic(int l, int m, double theta, double phi)
    {
        if (l < 0 || Math.Abs(m) > l) throw new ArgumentOutOfRangeException(nameof(m));
        Span<double> p = stackalloc double[(l + 1) * (l + 2) / 2];
        SphericalBessel.NormalizedLegendre(l, Math.Cos(theta), p);
        int am = Math.Abs(m);
        Complex v = p[l * (l + 1) / 2 + am] * Complex.FromPolarCoordinates(1, am * phi);
        if (m < 0) v = ((am & 1) == 0 ? 1 : -1) * Complex.Conjugate(v);
        return v;
    }

    /// <summary>Gauss–Legendre order that integrates j_ℓ(uk)·(Bessel of frequency b·k) on [0,1] to machine precision.</summary>
    internal int QuadratureOrder(double maxB)
    {
        double umax = 0;
        foreach (var z in _zeros) if (z.Length > 0) umax = Math.Max(umax, z[^1]);
        return (int)(0.75 * (umax + maxB)) + 40;
    }

    /// <summary>A Gauss–Legendre rule on [0,1] with j_{ℓ,s}(k_q) tabulated: Rad[q·pairs + pair].</summary>
    internal sealed record RadialQuadrature(double[] Nodes, double[] Weights, double[] Rad, int Pairs);

    private readonly ConcurrentDictionary<int, RadialQuadrature> _quadCache = new();

    /// <summary>The radial quadrature good for Bessel frequencies up to <paramref name="maxB"/> (cached by order).</summary>
    internal RadialQuadrature Quadrature(double maxB)
    {
        int order = QuadratureOrder(maxB);
        order = (order + 15) / 16 * 16; // few distinct orders, better caching
        return _quadCache.GetOrAdd(order, n =>
        {
            var (x, w) = SphericalBessel.GaussLegendre01(n);
            int pairs = RadialPairCount;
            var rad = new double[n * pairs];
            Span<double> jb = stackalloc double[EllMax + 1];
            for (int q = 0; q < n; q++)
            {
                int idx = 0;
                for (int l = 0; l <= EllMax; l++)
                    for (int s = 0; s < _radialCounts[l]; s++)
                        rad[q * pairs + idx++] = _norms[l][s] * SphericalBessel.SphericalJ(l, _zeros[l][s] * x[q]);
            }
            return new RadialQuadrature(x, w, rad, pairs);
        });
    }

    /// <summary>
    /// Real-space radial functions F_{ℓ,s}(r) = 4πc³ ∫₀¹ j_{ℓ,s}(k) j_ℓ(2πckr) k² dk at radius r (pixels),
    /// written to result[pair] (pairs (ℓ, s) in basis order), by Gauss–Legendre quadrature.
    /// </summary>
    internal void SpaceRadial(double r, RadialQuadrature quad, Span<double> result)
    {
        int pairs = quad.Pairs;
        result[..pairs].Clear();
        Span<double> jb = stackalloc double[EllMax + 1];
        double c = Bandlimit, pref = 4 * Math.PI * c * c * c;
        for (int q = 0; q < quad.Nodes.Length; q++)
        {
            double k = quad.Nodes[q];
            SphericalBessel.SphericalJ(EllMax, 2 * Math.PI * c * k * r, jb);
            int idx = 0;
            var rad = quad.Rad.AsSpan(q * pairs, pairs);
            for (int l = 0; l <= EllMax; l++)
            {
                double w = quad.Weights[q] * k * k * jb[l] * pref;
                for (int s = 0; s < _radialCounts[l]; s++, idx++)
                    result[idx] += w * rad[idx];
            }
        }
    }

    /// <summary>Number of (ℓ, s) pairs.</summary>
    internal int RadialPairCount { get { int n = 0; for (int l = 0; l <= EllMax; l++) n += _radialCounts[l]; return n; } }

    public override string ToString() => $"FourierBesselBasis L = {Size}, ℓmax = {EllMax}, {Count} parameters";
}
