using System.Diagnostics;
using System.Numerics;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

public class FourierBesselProjectionTests
{
    private readonly ITestOutputHelper _out;
    public FourierBesselProjectionTests(ITestOutputHelper o) => _out = o;

    /// <summary>
    /// Brute force independent of G, D, the H integrals and the cylindrical Bessel functions:
    /// I_R(x) = ∫_{|ξ|≤c} f̂(Rᵀξ) e^{2πiξ·x} dξ (Fourier slice: the projection's 2-D transform is the
    /// central slice ξ_z = 0 of f̂_R, and f̂_R(ξ) = f̂(Rᵀξ)), with f̂ evaluated from eq. (6) with the complex
    /// coefficients x_{ℓ,m,s}, and a polar product rule: Gauss–Legendre in |ξ| (exact to rounding for
    /// these entire integrands at this order) × trapezoid in the angle (spectrally exact for the
    /// band-limited periodic integrand).
    /// </summary>
    internal static double[] BruteForce(FourierBesselVolume fb, Rotation R, int nk = 96, int nphi = 160)
    {
        var b = fb.Basis; int L = b.Size, o = L / 2, lmax = b.EllMax;
        var x = b.ToComplex(fb.Coefficients);
        var (kn, kw) = SphericalBessel.GaussLegendre01(nk);
        double c = FourierBesselBasis.Bandlimit;
        var img = new double[L * L];
        var leg = new double[(lmax + 1) * (lmax + 2) / 2];
        for (int qk = 0; qk < nk; qk++)
        {
            double k = kn[qk], rho = c * k;
            var rad = new double[b.Count];
            for (int i = 0; i < b.Count; i++) { var (l, m, s) = b.Unindex(i); rad[i] = b.RadialFunction(l, s, k); }
            for (int qp = 0; qp < nphi; qp++)
            {
                double phi = 2 * Math.PI * qp / nphi;
                double ux = Math.Cos(phi), uy = Math.Sin(phi);
                var (ax, ay, az) = R.ApplyTranspose(ux, uy, 0);
                double theta = Math.Acos(Math.Clamp(az, -1, 1)), ph = Math.Atan2(ay, ax);
                Complex f = 0;
                for (int i = 0; i < b.Count; i++) { var (l, m, s) = b.Unindex(i); f += x[i] * FourierBesselBasis.SphericalHarmonic(l, m, theta, ph) * rad[i]; }
                double w = kw[qk] * rho * c * (2 * Math.PI / nphi);
                for (int py = 0; py < L; py++)
                    for (int px = 0; px < L; px++)
                    {
                        double arg = 2 * Math.PI * rho * ((px - o) * ux + (py - o) * uy);
                        img[py * L + px] += w * (f.Real * Math.Cos(arg) - f.Imaginary * Math.Sin(arg));
                    }
            }
        }
        return img;
    }

    [Theory]
    [InlineData(11, 6)]
    [InlineData(10, 5)]
    [InlineData(9, 7)]
    public void Projection_MatchesBruteForceFourierSlice(int L, int lmax)
    {
        var fb = FourierBesselTransformTests.RandomFb(L, lmax, 21);
        var model = FourierBesselModel.Get(L, lmax);
        var rng = new Random(L);
        for (int t = 0; t < 2; t++)
        {
            var R = WignerDTests.RandomRotation(rng);
            var img = new double[L * L];
            model.Project(fb.Coefficients, R, img);
            var bf = BruteForce(fb, R);
            double scale = bf.Max(Math.Abs), err = img.Zip(bf, (a, b) => Math.Abs(a - b)).Max();
            _out.WriteLine($"L={L} lmax={lmax}: max |exact − brute force| / max|I| = {err / scale:g3}");
            Assert.True(err < 1e-8 * scale, $"relative error {err / scale:g3}");
        }
    }

    [Fact]
    public void ProjectionMatrix_EqualsBatchedProjection_AndProjectorAgrees()
    {
        int L = 12, lmax = 7;
        var fb = FourierBesselTransformTests.RandomFb(L, lmax, 2);
        var model = FourierBesselModel.Get(L, lmax);
        Assert.Same(model, FourierBesselModel.Get(L, lmax));
        var rng = new Random(4);
        var rots = Enumerable.Range(0, 300).Select(_ => WignerDTests.RandomRotation(rng)).ToArray();
        var imgs = new double[rots.Length * L * L];
        model.Project(fb.Coefficients, rots, imgs);
        var B = new double[L * L * model.ParameterCount];
        var proj = new FourierBesselProjector(fb);
        var one = new double[L * L];
        foreach (int k in new[] { 0, 129, 299 })
        {
            model.ProjectionMatrix(rots[k], B);
            proj.Project(rots[k], one);
            for (int pix = 0; pix < L * L; pix++)
            {
                double s = 0;
                for (int j = 0; j < model.ParameterCount; j++) s += B[pix * model.ParameterCount + j] * fb.Coefficients[j];
                Assert.True(Math.Abs(s - imgs[k * L * L + pix]) < 1e-12);
                Assert.True(Math.Abs(one[pix] - imgs[k * L * L + pix]) < 1e-12);
            }
        }
    }

    [Fact]
    public void IdentityRotation_ImageOfAxisAlignedDensityIsItsZIntegral_Sanity()
    {
        // Projection of the real-space expansion at the identity equals the projection at a rotation
        // about z by 90° re-indexed (x, y) → (−y, x): a symmetry check that is independent of D's details.
        int L = 11, o = 5, lmax = 6;
        var fb = FourierBesselTransformTests.RandomFb(L, lmax, 7);
        var model = FourierBesselModel.Get(L, lmax);
        var a = new double[L * L]; var b = new double[L * L];
        model.Project(fb.Coefficients, Rotation.Identity, a);
        var rz = new Rotation(0, -1, 0, 1, 0, 0, 0, 0, 1); // R e_x = e_y
        model.Project(fb.Coefficients, rz, b);
        // I_R(x) = I(Rᵀx): I_R(x, y) = I(y, −x)
        for (int y = -o; y <= o; y++)
            for (int x = -o; x <= o; x++)
                Assert.True(Math.Abs(b[(y + o) * L + x + o] - a[(-x + o) * L + y + o]) < 1e-12);
    }

    [Fact]
    public void NonRotation_Rejected()
    {
        var model = FourierBesselModel.Get(9, 3);
        var bad = new Rotation(1, 0, 0, 0, 1, 0, 0, 0, 1.00001);
        Assert.Throws<ArgumentException>(() => model.ProjectionMatrix(bad, new double[81 * model.ParameterCount]));
        Assert.Throws<ArgumentException>(() => model.Project(new double[model.ParameterCount], new[] { bad }, new double[81]));
        Assert.Throws<ArgumentException>(() => model.Project(new double[model.ParameterCount + 1], new[] { Rotation.Identity }, new double[81]));
    }

    [Fact]
    [Trait("Category", "Expensive")]
    public void Benchmark_L17_Ell14()
    {
        // Prints timings (never asserts them): build G, project 3,392 rotations, ProjectionMatrix per rotation.
        var sw = Stopwatch.StartNew();
        var basis = FourierBesselBasis.Create(17, 14);
        _out.WriteLine($"basis {sw.Elapsed.TotalMilliseconds:0} ms");
        sw.Restart();
        var model = new FourierBesselModel(basis);
        _out.WriteLine($"build G (L=17, lmax=14, n={basis.Count}): {sw.Elapsed.TotalMilliseconds:0} ms");
        var fb = FourierBesselTransformTests.RandomFb(17, 14, 1);
        var rng = new Random(1);
        var rots = Enumerable.Range(0, 3392).Select(_ => WignerDTests.RandomRotation(rng)).ToArray();
        var imgs = new double[rots.Length * 289];
        model.Project(fb.Coefficients, rots.Take(10).ToArray(), imgs);
        for (int rep = 0; rep < 3; rep++)
        {
            sw.Restart();
            model.Project(fb.Coefficients, rots, imgs);
            _out.WriteLine($"project 3392 rotations: {sw.Elapsed.TotalMilliseconds:0} ms");
        }
        var d = new double[WignerD.BlockLength(14)];
        sw.Restart();
        foreach (var r in rots) WignerD.Real(r, 14, d);
        _out.WriteLine($"Wigner-D up to 14 for 3392 rotations (one thread): {sw.Elapsed.TotalMilliseconds:0} ms");
        var B = new double[289 * basis.Count];
        model.ProjectionMatrix(rots[0], B);
        sw.Restart();
        for (int k = 0; k < 200; k++) model.ProjectionMatrix(rots[k], B);
        _out.WriteLine($"ProjectionMatrix: {sw.Elapsed.TotalMilliseconds / 200:0.000} ms per rotation (one thread)");
    }
}
