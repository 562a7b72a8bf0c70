using CryoEmPS.Core.Rotations;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

public class RotationGridTests
{
    private readonly ITestOutputHelper _out;
    public RotationGridTests(ITestOutputHelper output) => _out = output;

    [Theory]
    [InlineData(3392)]
    [InlineData(1376)]
    [InlineData(1)]
    [InlineData(7)]
    public void SuperFibonacciGivesExactlyKValidDeterministicRotations(int k)
    {
        var a = RotationGrid.SuperFibonacci(k);
        var b = RotationGrid.SuperFibonacci(k);
        Assert.Equal(k, a.Count);
        Assert.Equal(k, a.RequestedCount);
        Assert.Equal(RotationSetKind.Grid, a.Kind);
        Assert.Equal(a.Rotations, b.Rotations);
        Assert.All(a.Rotations, r => Assert.True(r.OrthonormalityError() < 1e-12));
    }

    /// <summary>Covering radius estimated by probing: the largest distance from a random rotation to its nearest set member (degrees).</summary>
    private static double CoveringRadiusDeg(RotationSet set, int probes, int seed)
    {
        var q = set.Rotations.Select(RotationGrid.ToQuaternion).ToArray();
        var rng = new Random(seed);
        double worst = 0;
        for (int p = 0; p < probes; p++)
        {
            var t = RotationGrid.ToQuaternion(UniformRotation.Draw(rng));
            double best = 0;
            foreach (var s in q) best = Math.Max(best, Math.Abs(t.W * s.W + t.X * s.X + t.Y * s.Y + t.Z * s.Z));
            worst = Math.Max(worst, 2 * Math.Acos(Math.Min(1, best)));
        }
        return worst * 180 / Math.PI;
    }

    [Fact]
    public void SuperFibonacciIsMoreUniformThanRandom()
    {
        const int k = 1376;
        var grid = RotationGrid.SuperFibonacci(k);
        var rand = RotationGrid.Random(k, 11);
        var ng = RotationGrid.NearestNeighbourAngles(grid).Select(a => a * 180 / Math.PI).ToArray();
        var nr = RotationGrid.NearestNeighbourAngles(rand).Select(a => a * 180 / Math.PI).ToArray();
        double cvG = Std(ng) / ng.Average(), cvR = Std(nr) / nr.Average();
        double covG = CoveringRadiusDeg(grid, 3000, 5), covR = CoveringRadiusDeg(rand, 3000, 5);
        _out.WriteLine($"K={k} grid: NN angle min {ng.Min():0.00}°, mean {ng.Average():0.00}°, CV {cvG:0.000}, covering radius ≈ {covG:0.00}°");
        _out.WriteLine($"K={k} random: NN angle min {nr.Min():0.00}°, mean {nr.Average():0.00}°, CV {cvR:0.000}, covering radius ≈ {covR:0.00}°");
        // A uniform grid has no near-duplicates and no large holes; random sets have both.
        Assert.True(ng.Min() > 3 * nr.Min(), "grid's smallest nearest-neighbour angle should be far above a random set's");
        Assert.True(ng.Min() > 0.5 * ng.Average(), "grid has near-duplicate rotations");
        Assert.True(cvG < 0.5 * cvR, $"grid NN-angle CV {cvG:0.000} should be well below random's {cvR:0.000}");
        Assert.True(covG < 0.8 * covR, $"grid covering radius {covG:0.0}° should be well below random's {covR:0.0}°");
    }

    private static double Std(double[] a) { double m = a.Average(); return Math.Sqrt(a.Sum(v => (v - m) * (v - m)) / a.Length); }

    /// <summary>Kolmogorov–Smirnov distance of rotation angles to the Haar law, CDF F(θ) = (θ − sin θ)/π.</summary>
    private static double KsAngle(IEnumerable<Rotation> rots)
    {
        var th = rots.Select(r => RotationGrid.Distance(Rotation.Identity, r)).OrderBy(t => t).ToArray();
        double d = 0;
        for (int i = 0; i < th.Length; i++)
        {
            double f = (th[i] - Math.Sin(th[i])) / Math.PI;
            d = Math.Max(d, Math.Max(Math.Abs(f - (double)i / th.Length), Math.Abs(f - (double)(i + 1) / th.Length)));
        }
        return d;
    }

    [Fact]
    public void RandomSetIsHaarUniformAndAWrongSamplerFails()
    {
        const int k = 20000;
        var set = RotationGrid.Random(k, 123);
        Assert.Equal(123, set.Seed);
        Assert.Equal(RotationSetKind.Random, set.Kind);
        Assert.Equal(set.Rotations, RotationGrid.Random(k, 123).Rotations);
        // E[R] = 0 under Haar measure; each entry has sd 1/√3, so the mean of K has sd ≈ 0.0041: tolerance 0.02.
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                Assert.InRange(set.Rotations.Average(r => r[i, j]), -0.02, 0.02);
        // KS test of the rotation-angle law (1 − cos θ)/π: critical value at α = 0.001 is 1.95/√K ≈ 0.0138.
        double crit = 1.95 / Math.Sqrt(k);
        double ks = KsAngle(set.Rotations);
        _out.WriteLine($"Random K={k}: KS distance of angles {ks:0.0000} (critical {crit:0.0000})");
        Assert.True(ks < crit);
        // Negative control: uniform Euler angles are not Haar-uniform and must fail the same test.
        var rng = new Random(5);
        var euler = Enumerable.Range(0, k).Select(_ => Rotation.FromEulerZyz(360 * rng.NextDouble(), 180 * rng.NextDouble(), 360 * rng.NextDouble())).ToArray();
        double ksBad = KsAngle(euler);
        _out.WriteLine($"Uniform-Euler sampler: KS distance {ksBad:0.0000}");
        Assert.True(ksBad > 2 * crit);
        // The grid also follows the Haar angle law closely.
        Assert.True(KsAngle(RotationGrid.SuperFibonacci(3392).Rotations) < 1.95 / Math.Sqrt(3392));
    }

    private static Rotation Rz(double deg) { double a = deg * Math.PI / 180; return new(Math.Cos(a), Math.Sin(a), 0, -Math.Sin(a), Math.Cos(a), 0, 0, 0, 1); }
    private static Rotation Ry(double deg) { double a = deg * Math.PI / 180; return new(Math.Cos(a), 0, -Math.Sin(a), 0, 1, 0, Math.Sin(a), 0, Math.Cos(a)); }

    private static void AssertClose(Rotation a, Rotation b, double tol)
    {
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) Assert.True(Math.Abs(a[i, j] - b[i, j]) <= tol, $"{a} vs {b} at ({i},{j})");
    }

    [Fact]
    public void EulerZyzMatchesRelionCompositionAndRoundTrips()
    {
        // RELION's Euler_angles2matrix is the product of its passive rotations Rz(psi)·Ry(tilt)·Rz(rot),
        // with Rz(a) = [[c, s, 0], [−s, c, 0], [0, 0, 1]] and Ry(a) = [[c, 0, −s], [0, 1, 0], [s, 0, c]].
        var rng = new Random(3);
        for (int n = 0; n < 200; n++)
        {
            double rot = 360 * rng.NextDouble() - 180, tilt = 180 * rng.NextDouble(), psi = 360 * rng.NextDouble() - 180;
            var r = Rotation.FromEulerZyz(rot, tilt, psi);
            AssertClose(r, Rz(psi) * Ry(tilt) * Rz(rot), 1e-12);
            var (a, b, c) = r.ToEulerZyz();
            Assert.Equal(rot, a, 1e-8); Assert.Equal(tilt, b, 1e-8); Assert.Equal(psi, c, 1e-8);
            // matrix → angles → matrix for Haar-random matrices
            var u = UniformRotation.Draw(rng);
            var (ua, ub, uc) = u.ToEulerZyz();
            AssertClose(Rotation.FromEulerZyz(ua, ub, uc), u, 1e-10);
        }
    }

    [Theory]
    [InlineData(30, 0, 20)]
    [InlineData(-100, 0, 45)]
    [InlineData(30, 180, 20)]
    [InlineData(170, 180, -60)]
    public void EulerZyzGimbalCasesRoundTripAsMatrices(double rot, double tilt, double psi)
    {
        var r = Rotation.FromEulerZyz(rot, tilt, psi);
        var (a, b, c) = r.ToEulerZyz();
        Assert.Equal(tilt, b, 1e-9);
        AssertClose(Rotation.FromEulerZyz(a, b, c), r, 1e-12);
    }

    [Fact]
    public void FromEulerAnglesBuildsACustomSet()
    {
        var set = RotationGrid.FromEulerAngles(new double[,] { { 0, 0, 0 }, { 10, 20, 30 } });
        Assert.Equal(2, set.Count);
        Assert.Equal(RotationSetKind.Custom, set.Kind);
        AssertClose(set[0], Rotation.Identity, 1e-15);
        AssertClose(set[1], Rotation.FromEulerZyz(10, 20, 30), 0);
        Assert.Throws<ArgumentException>(() => RotationGrid.FromEulerAngles(new double[2, 2]));
    }
}
