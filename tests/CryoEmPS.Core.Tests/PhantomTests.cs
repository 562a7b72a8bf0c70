using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

public class PhantomTests
{
    [Fact]
    public void DefaultPhantomIsDeterministicNonNegativeAndNamed()
    {
        var a = Phantom.Create(17);
        var b = Phantom.Create(17, Phantom.DefaultSeed);
        Assert.Equal(a.Data, b.Data);
        Assert.Equal("phantom", a.Name);
        Assert.Equal(17, a.Size);
        Assert.True(a.Min() >= 0);
        Assert.True(a.Max() > 0.5);
        Assert.NotEqual(a.Data, Phantom.Create(17, 2).Data);
    }

    private static double LongestSigma(GaussianBlob blob)
    {
        var e = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(blob.Covariance).Evd().EigenValues;
        return Math.Sqrt(e.Max(v => v.Real));
    }

    [Fact]
    public void BlobsScaleWithSizeAndStayCompactInsideTheBall()
    {
        var b17 = Phantom.Blobs(17);
        var b34 = Phantom.Blobs(34);
        Assert.Equal(Phantom.BlobCount, b17.Count);
        for (int i = 0; i < b17.Count; i++)
        {
            Assert.Equal(2 * b17[i].Center.X, b34[i].Center.X, 10);
            Assert.Equal(2 * b17[i].Center.Z, b34[i].Center.Z, 10);
            Assert.Equal(2 * LongestSigma(b17[i]), LongestSigma(b34[i]), 8);
            Assert.True(b17[i].MinSigma >= Phantom.MinimumSigma - 1e-9);
            // Compact: every blob's centre plus 2.5 of its longest widths lies 1 px inside the inscribed ball (radius 8).
            var c = b17[i].Center;
            double reach = Math.Sqrt(c.X * c.X + c.Y * c.Y + c.Z * c.Z) + 2.5 * LongestSigma(b17[i]);
            Assert.True(reach <= Phantom.CompactRadius + 1e-9, $"blob {i} reaches {reach:0.00} px");
        }
        Assert.All(Phantom.Blobs(11), b => Assert.True(b.MinSigma >= Phantom.MinimumSigma - 1e-9));
        // Detail at two scales: cores wider than 1.2 px, detail blobs narrower than 1 px.
        Assert.Equal(Phantom.DomainCount, b17.Count(b => b.MinSigma >= 1.2 - 1e-9));
        Assert.Equal(Phantom.DomainCount * Phantom.DetailBlobsPerDomain, b17.Count(b => b.MinSigma <= 1.0 + 1e-9));
        // Nearly all the mass lies within radius 6, and almost none beyond the inscribed ball (radius floor(L/2) = 8).
        foreach (int seed in new[] { Phantom.DefaultSeed, 2, 3 })
        {
            var v = Phantom.Create(17, seed);
            double inside = 0, outside = 0, all = 0;
            for (int z = 0; z < 17; z++)
            {
                for (int y = 0; y < 17; y++)
                {
                    for (int x = 0; x < 17; x++)
                    {
                        double r2 = (x - 8) * (x - 8) + (y - 8) * (y - 8) + (z - 8) * (z - 8);
                        all += v[z, y, x];
                        inside += r2 <= 36 ? v[z, y, x] : 0;
                        outside += r2 > 64 ? v[z, y, x] : 0;
                    }
                }
            }
            Assert.True(inside / all > 0.97, $"seed {seed}: only {inside / all:P1} of the mass within radius 6"); // 98.6–99.1 %
            Assert.True(outside / all < 1e-3, $"seed {seed}: {outside / all:P2} of the mass outside the inscribed ball");
        }
    }

    [Theory]
    [InlineData(17, 6)]
    [InlineData(17, 14)]
    [InlineData(16, 14)]
    public void OwnFourierBesselExpansionFollowsThePhantomToNyquist(int l, int ellMax)
    {
        // The point of the compact phantom (issue 11, item 6): its own expansion (ConvertTo-FourierBessel and back) keeps
        // FSC ≥ 0.5 at every shell up to floor(L/2). The fuzzy ellipsoid it replaced crossed 0.5 at shell 5.46 at every ℓmax.
        // Smallest FSC over the shells, measured for seeds 1–20: L = 17, ℓmax 6: 0.60–0.86 (0.86 for the default seed);
        // L = 17, ℓmax 14: 0.957–0.971; L = 16, ℓmax 14: 0.79–0.83. (L = 16 at ℓmax 6 goes down to 0.504, so it is not tested.)
        var v = Phantom.Create(l);
        var fsc = Evaluation.Fsc.Compute(v, FourierBesselTransform.Analyze(v, ellMax).ToVolume());
        Assert.False(fsc.CrossesThreshold, $"L = {l}, ℓmax {ellMax}: FSC crosses 0.5 at shell {fsc.CrossingShell:0.00}");
    }

    /// <summary>
    /// min over the rotations more than 30° from the identity of ‖f_R − f‖/‖f‖, with the L2 norm over the box
    /// estimated from 800 fixed random points (exact blob values; f_R(p) = f(Rᵀp)).
    /// </summary>
    private static (double Worst, double AngleDeg) LeastChange(IReadOnlyList<GaussianBlob> blobs, int l, IEnumerable<Rotation> rotations)
    {
        var rng = new Random(42);
        double h = l / 2.0;
        var pts = Enumerable.Range(0, 800).Select(_ => (X: (2 * rng.NextDouble() - 1) * h, Y: (2 * rng.NextDouble() - 1) * h, Z: (2 * rng.NextDouble() - 1) * h)).ToArray();
        double F(double x, double y, double z) { double v = 0; foreach (var b in blobs) v += b.Evaluate(x, y, z); return v; }
        var f = pts.Select(p => F(p.X, p.Y, p.Z)).ToArray();
        double norm = Math.Sqrt(f.Sum(v => v * v)), worst = double.PositiveInfinity, angle = 0;
        foreach (var r in rotations)
        {
            double a = RotationGrid.Distance(Rotation.Identity, r);
            if (a < 30 * Math.PI / 180) continue;
            double d = 0;
            for (int i = 0; i < pts.Length; i++)
            {
                var (x, y, z) = r.ApplyTranspose(pts[i].X, pts[i].Y, pts[i].Z);
                double g = F(x, y, z) - f[i];
                d += g * g;
            }
            double e = Math.Sqrt(d) / norm;
            if (e < worst) { worst = e; angle = a * 180 / Math.PI; }
        }
        return (worst, angle);
    }

    [Fact]
    public void PhantomHasNoRotationalSymmetry()
    {
        // Every rotation more than 30° from the identity (1376 grid rotations plus the 180° turns about x, y, z)
        // changes the default 17³ phantom by at least 10 % (relative L2; the smallest change measured was about 15 %, at about 40°,
        // where the smooth density overlaps itself most). Control: a C2-symmetric blob set fails the same check.
        const int l = 17;
        var extra = new[] { new Rotation(1, 0, 0, 0, -1, 0, 0, 0, -1), new Rotation(-1, 0, 0, 0, 1, 0, 0, 0, -1), new Rotation(-1, 0, 0, 0, -1, 0, 0, 0, 1) };
        var rots = RotationGrid.SuperFibonacci(1376).Rotations.Concat(extra).ToArray();
        var (worst, angle) = LeastChange(Phantom.Blobs(l), l, rots);
        Assert.True(worst > 0.10, $"a rotation by {angle:0}° leaves the phantom within {worst:P1} of itself");
        var half = Phantom.Blobs(l).Take(6).ToList();
        var c2 = half.Concat(half.Select(b => b.Rotate(extra[2]))).ToArray();
        var (cw, ca) = LeastChange(c2, l, rots);
        Assert.True(cw < 1e-9 && Math.Abs(ca - 180) < 1e-6, $"control: C2 phantom least change {cw:g3} at {ca:0}°");
    }

    [Fact]
    public void BlobRotationAndProjectionAreConsistentWithBruteForce()
    {
        var blob = GaussianBlob.FromAxes((1, -2, 0.5), UniformRotation.Draw(new Random(4)), (1.5, 2.0, 2.5), 0.8);
        var r = UniformRotation.Draw(new Random(8));
        var rb = blob.Rotate(r);
        // f_R(p) = f(Rᵀp)
        var (tx, ty, tz) = r.ApplyTranspose(0.3, 1.1, -0.7);
        Assert.Equal(blob.Evaluate(tx, ty, tz), rb.Evaluate(0.3, 1.1, -0.7), 12);
        // Exact line integral vs a fine trapezoid sum along z.
        double s = 0, h = 0.01;
        for (double z = -40; z <= 40; z += h) s += rb.Evaluate(0.7, -1.2, z) * h;
        Assert.Equal(s, blob.ProjectAt(r, 0.7, -1.2), 9);
        // Mass
        var v = Phantom.Render(new[] { GaussianBlob.FromAxes((0, 0, 0), Rotation.Identity, (1.5, 1.7, 2), 1) }, 25);
        Assert.Equal(Math.Pow(2 * Math.PI, 1.5) * 1.5 * 1.7 * 2, v.Data.Sum(), 1e-6);
    }
}
