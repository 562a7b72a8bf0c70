using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

public class FscTests
{
    private static Volume Random(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new Volume(n);
        for (int i = 0; i < v.Data.Length; i++) v.Data[i] = rng.NextDouble() - 0.5;
        return v;
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void AVolumeAgainstItselfOrAScaledCopyCorrelatesOneEverywhere(int n)
    {
        var a = Random(n, 1);
        var b = a.Clone();
        for (int i = 0; i < b.Data.Length; i++) b.Data[i] *= 3.5;
        var r = Fsc.Compute(a, b);
        Assert.Equal(n / 2 + 1, r.Curve.Length);
        foreach (var s in r.Curve) Assert.Equal(1.0, s.Correlation, 12);
        Assert.False(r.CrossesThreshold);
        Assert.Equal(-1, r.FirstShellBelow);
        // A negated copy correlates −1.
        for (int i = 0; i < b.Data.Length; i++) b.Data[i] = -a.Data[i];
        var neg = Fsc.Compute(a, b);
        foreach (var s in neg.Curve) Assert.Equal(-1.0, s.Correlation, 12);
    }

    [Fact]
    public void MatchesABruteForceDftShellSum()
    {
        // Independent: direct O(n^6) DFT and shell sums for n = 6 (even, so the Nyquist index matters).
        int n = 6;
        var a = Random(n, 2); var b = Random(n, 3);
        var r = Fsc.Compute(a, b);
        int kmax = n / 2;
        var num = new double[kmax + 1]; var da = new double[kmax + 1]; var db = new double[kmax + 1];
        for (int kz = 0; kz < n; kz++)
            for (int ky = 0; ky < n; ky++)
                for (int kx = 0; kx < n; kx++)
                {
                    double fz = kz <= n / 2 ? kz : kz - n, fy = ky <= n / 2 ? ky : ky - n, fx = kx <= n / 2 ? kx : kx - n;
                    int shell = (int)Math.Round(Math.Sqrt(fz * fz + fy * fy + fx * fx), MidpointRounding.AwayFromZero);
                    if (shell > kmax) continue;
                    System.Numerics.Complex sa = 0, sb = 0;
                    for (int z = 0; z < n; z++) for (int y = 0; y < n; y++) for (int x = 0; x < n; x++)
                            {
                                var e = System.Numerics.Complex.Exp(new System.Numerics.Complex(0, -2 * Math.PI * (kz * z + ky * y + kx * x) / (double)n));
                                sa += a[z, y, x] * e; sb += b[z, y, x] * e;
                            }
                    num[shell] += (sa * System.Numerics.Complex.Conjugate(sb)).Real;
                    da[shell] += sa.Magnitude * sa.Magnitude; db[shell] += sb.Magnitude * sb.Magnitude;
                }
        for (int k = 0; k <= kmax; k++)
            Assert.Equal(num[k] / Math.Sqrt(da[k] * db[k]), r.Curve[k].Correlation, 10);
    }

    [Fact]
    public void CrossingIsInterpolatedAndResolutionUsesTheVoxelSize()
    {
        // Estimate = reference with its high shells replaced by independent noise: the curve drops there.
        int n = 16;
        var a = Random(n, 4);
        a.VoxelSize = 2.0;
        var noise = Random(n, 5);
        var ca = new System.Numerics.Complex[a.Length]; var cn = new System.Numerics.Complex[a.Length];
        for (int i = 0; i < ca.Length; i++) { ca[i] = a.Data[i]; cn[i] = noise.Data[i]; }
        Native.Fftw.Dft(ca, new[] { n, n, n }, true); Native.Fftw.Dft(cn, new[] { n, n, n }, true);
        for (int z = 0; z < n; z++) for (int y = 0; y < n; y++) for (int x = 0; x < n; x++)
                {
                    int kz = z <= n / 2 ? z : z - n, ky = y <= n / 2 ? y : y - n, kx = x <= n / 2 ? x : x - n;
                    if (Math.Sqrt(kz * kz + ky * ky + kx * kx) >= 4.5) ca[(z * n + y) * n + x] = cn[(z * n + y) * n + x];
                }
        Native.Fftw.Dft(ca, new[] { n, n, n }, false);
        var b = new Volume(n, ca.Select(c => c.Real / a.Length).ToArray());
        var r = Fsc.Compute(a, b);
        Assert.Equal(1.0, r.Curve[3].Correlation, 10);
        Assert.Equal(1.0, r.Curve[4].Correlation, 10);
        Assert.True(r.CrossesThreshold);
        Assert.Equal(5, r.FirstShellBelow);
        Assert.InRange(r.CrossingShell, 4.0, 5.0);
        double t = (r.Curve[4].Correlation - 0.5) / (r.Curve[4].Correlation - r.Curve[5].Correlation);
        Assert.Equal(4 + t, r.CrossingShell, 12);
        Assert.Equal(n * 2.0 / r.CrossingShell, r.ResolutionAngstrom, 12);
        Assert.Equal(3 / (n * 2.0), r.Curve[3].SpatialFrequencyPerAngstrom, 12);
    }

    [Fact]
    public void DifferentSizesAndNonCubesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Fsc.Compute(new Volume(8), new Volume(9)));
        Assert.Throws<NonCubicVolumeException>(() => Fsc.Compute(new Volume(8), new Volume(8, 8, 9)));
    }
}
