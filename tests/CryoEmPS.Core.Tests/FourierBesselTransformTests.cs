using System.Numerics;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

public class FourierBesselTransformTests
{
    private readonly ITestOutputHelper _out;
    public FourierBesselTransformTests(ITestOutputHelper o) => _out = o;

    internal static FourierBesselVolume RandomFb(int L, int lmax, int seed)
    {
        var b = FourierBesselBasis.Create(L, lmax);
        var rng = new Random(seed);
        return new FourierBesselVolume(b, Enumerable.Range(0, b.Count).Select(_ => rng.NextDouble() - 0.5).ToArray(), 1.5, "rnd");
    }

    [Theory]
    [InlineData(11, 6)]
    [InlineData(10, 5)]
    public void SynthesisThenAnalysis_ReturnsCoefficients(int L, int lmax)
    {
        var fb = RandomFb(L, lmax, 1);
        var vol = FourierBesselTransform.Synthesize(fb);
        var back = FourierBesselTransform.Analyze(vol, lmax);
        double err = fb.Coefficients.Zip(back.Coefficients, (a, b) => Math.Abs(a - b)).Max();
        _out.WriteLine($"round trip L={L}: max coefficient error {err:g3}");
        Assert.True(err < 1e-10, $"max coefficient error {err:g3}");
        Assert.Equal(1.5, back.VoxelSize);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void TruncationIsIdempotent(int L)
    {
        // P = Synthesize∘Analyze(·, ℓmax) is a projection: P(P(v)) = P(v); and WithEllMax nests.
        var rng = new Random(2);
        var v = new Volume(L, Enumerable.Range(0, L * L * L).Select(_ => rng.NextDouble()).ToArray());
        var a1 = FourierBesselTransform.Analyze(v, 4);
        var a2 = FourierBesselTransform.Analyze(a1.ToVolume(), 4);
        double err = a1.Coefficients.Zip(a2.Coefficients, (a, b) => Math.Abs(a - b)).Max();
        _out.WriteLine($"idempotence L={L}: {err:g3}");
        Assert.True(err < 1e-10, $"idempotence error {err:g3}");
        var big = RandomFb(L, 6, 3);
        var t = big.WithEllMax(4);
        Assert.Equal(t.Coefficients, t.WithEllMax(4).Coefficients);
        Assert.Equal(big.Coefficients.Take(t.Count), t.Coefficients);
        var padded = t.WithEllMax(6);
        Assert.Equal(t.Coefficients, padded.Coefficients.Take(t.Count));
        Assert.All(padded.Coefficients.Skip(t.Count), c => Assert.Equal(0.0, c));
    }

    [Theory]
    [InlineData(17, 6)]
    [InlineData(10, 5)]
    public void Parseval_FourierQuadratureOfEq6_EqualsSumOfSquares(int L, int lmax)
    {
        // ∫_{|ξ|≤c} |f̂(ξ)|² dξ by a product Gauss rule (radial Gauss–Legendre, Gauss–Legendre in cos θ,
        // trapezoid in φ), f̂ from eq. (6) with the complex coefficients, equals Σ p² (orthonormal basis).
        var fb = RandomFb(L, lmax, 4);
        var b = fb.Basis;
        var x = b.ToComplex(fb.Coefficients);
        var (kn, kw) = SphericalBessel.GaussLegendre01(80);
        int nt = lmax + 2, nphi = 2 * lmax + 2;
        var (tn, tw) = SphericalBessel.GaussLegendre01(nt);
        double c = FourierBesselBasis.Bandlimit, total = 0;
        var rad = new double[b.Count];
        for (int qk = 0; qk < kn.Length; qk++)
        {
            for (int i = 0; i < b.Count; i++) { var (l, m, s) = b.Unindex(i); rad[i] = b.RadialFunction(l, s, kn[qk]); }
            for (int qt = 0; qt < nt; qt++)
            {
                double ct = 2 * tn[qt] - 1, wt = 2 * tw[qt], theta = Math.Acos(ct);
                for (int qp = 0; qp < nphi; qp++)
                {
                    double phi = 2 * Math.PI * qp / nphi;
                    Complex f = 0;
                    for (int i = 0; i < b.Count; i++) { var (l, m, s) = b.Unindex(i); f += x[i] * FourierBesselBasis.SphericalHarmonic(l, m, theta, phi) * rad[i]; }
                    total += kw[qk] * kn[qk] * kn[qk] * wt * (2 * Math.PI / nphi) * (f.Real * f.Real + f.Imaginary * f.Imaginary);
                }
            }
        }
        total *= c * c * c;
        double sp = fb.Coefficients.Sum(v => v * v);
        _out.WriteLine($"Parseval L={L}: relative {Math.Abs(total - sp) / sp:g3}");
        Assert.True(Math.Abs(total - sp) < 1e-10 * sp, $"Parseval: quadrature {total} vs Σp² {sp}");
    }

    [Fact]
    public void RealSpaceRadial_MatchesLommelClosedForm()
    {
        // F_{ℓ,s}(r) = 4πc³ N u j_{ℓ−1}(u) j_ℓ(πr)/((πr)² − u²)·… (Lommel integral), away from πr = u.
        var b = FourierBesselBasis.Create(15, 8);
        var quad = b.Quadrature(60);
        var F = new double[quad.Pairs];
        foreach (double r in new[] { 0.7, 3.3, 9.9, 14.2 })
        {
            b.SpaceRadial(r, quad, F);
            int pair = 0;
            for (int l = 0; l <= 8; l++)
                for (int s = 1; s <= b.RadialCount(l); s++, pair++)
                {
                    double u = b.Zero(l, s), bb = Math.PI * r;
                    if (Math.Abs(bb - u) < 0.5) continue;
                    double jlm1 = l == 0 ? Math.Cos(u) / u : SphericalBessel.SphericalJ(l - 1, u);
                    // ∫₀¹ k² j_ℓ(uk) j_ℓ(bk) dk = u j_{ℓ−1}(u) j_ℓ(b)/(b² − u²)  (j_{−1}(x) = cos x / x)
                    double integral = u * jlm1 * SphericalBessel.SphericalJ(l, bb) / (bb * bb - u * u);
                    double expect = 4 * Math.PI * 0.125 * b.Normalization(l, s) * integral;
                    Assert.True(Math.Abs(F[pair] - expect) < 1e-13, $"l={l} s={s} r={r}: {F[pair]} vs {expect}");
                }
        }
    }

    [Theory]
    [InlineData(11, 6)]
    [InlineData(12, 8)]
    public void RotatingCoefficients_EqualsRotatingTheVolume(int L, int lmax)
    {
        // f_R(r) = f(Rᵀr): evaluate the continuous expansion with p′ = D(R)p at r and with p at Rᵀr.
        var fb = RandomFb(L, lmax, 6);
        var R = WignerDTests.RandomRotation(new Random(9));
        var d = new double[WignerD.BlockLength(lmax)];
        WignerD.Real(R, lmax, d);
        var b = fb.Basis;
        var rotated = new double[b.Count];
        for (int l = 0; l <= lmax; l++)
            for (int s = 1; s <= b.RadialCount(l); s++)
                for (int mp = -l; mp <= l; mp++)
                {
                    double acc = 0;
                    for (int m = -l; m <= l; m++) acc += d[WignerD.BlockOffset(l) + (mp + l) * (2 * l + 1) + m + l] * fb.Coefficients[b.Index(l, m, s)];
                    rotated[b.Index(l, mp, s)] = acc;
                }
        var fr = new FourierBesselVolume(b, rotated);
        var rng = new Random(10);
        var pts = Enumerable.Range(0, 40).Select(_ => (rng.NextDouble() * 10 - 5, rng.NextDouble() * 10 - 5, rng.NextDouble() * 10 - 5)).ToList();
        var ptsT = pts.Select(p => R.ApplyTranspose(p.Item1, p.Item2, p.Item3)).ToList();
        var a = FourierBesselTransform.Evaluate(fr, pts.Select(p => (p.Item1, p.Item2, p.Item3)).ToList());
        var e = FourierBesselTransform.Evaluate(fb, ptsT);
        double scale = e.Max(Math.Abs);
        double err = a.Zip(e, (u, v) => Math.Abs(u - v)).Max();
        _out.WriteLine($"rotation L={L}: relative {err / scale:g3}");
        Assert.True(err < 1e-10 * scale, $"rotation error {err:g3} (scale {scale:g3})");
    }

    [Fact]
    public void BadInput_ClearErrors()
    {
        Assert.Throws<NonCubicVolumeException>(() => FourierBesselTransform.Analyze(new Volume(5, 6, 5), 2));
        var b = FourierBesselBasis.Create(11, 4);
        var ex = Assert.Throws<ArgumentException>(() => new FourierBesselVolume(b, new double[b.Count + 1]));
        Assert.Contains("ℓmax", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => FourierBesselTransform.Analyze(new Volume(11), -1));
    }
}
