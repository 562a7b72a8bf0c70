using System.Numerics;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

public class FourierResizeTests
{
    /// <summary>The shared maps through the project's MRC reader, as (nx, ny, nz, data [z,y,x]).</summary>
    private static (int Nx, int Ny, int Nz, double[] Data) ReadFloatMrc(string path)
    {
        var m = CryoEmPS.Core.IO.MrcReader.Read(path);
        Assert.Equal(2, m.Header.Mode);
        return (m.SizeX, m.SizeY, m.SizeZ, m.Data);
    }

    [SharedDataTheory]
    [InlineData(17)]
    [InlineData(11)]
    public void Ribosome65_MatchesSharedDownsampledMaps(int size)
    {
        var src = ReadFloatMrc(SharedData.PathOf("clean70SRibosome_vol_65p.mrc"));
        var reference = ReadFloatMrc(SharedData.PathOf($"clean70SRibosome_vol_{size}p.mrc"));
        Assert.Equal((65, 65, 65), (src.Nx, src.Ny, src.Nz));
        Assert.Equal((size, size, size), (reference.Nx, reference.Ny, reference.Nz));
        var vol = FourierResize.Resize(new Volume(65, src.Data), size);
        double max = reference.Data.Max(Math.Abs);
        for (int i = 0; i < vol.Data.Length; i++)
        {
            // float32 precision: half an ulp of the stored value, plus 1e-6 of the map's range for rounding in the FFTs.
            double tol = Math.Abs(reference.Data[i]) * 6e-8 + 1e-6 * max;
            Assert.True(Math.Abs(vol.Data[i] - reference.Data[i]) <= tol, $"voxel {i}: {vol.Data[i]} vs {reference.Data[i]}");
        }
    }

    /// <summary>Brute-force centred DFT resize of a 2-D array, straight from the definition.</summary>
    private static double[] BruteResize2D(double[] x, int ny, int nx, int my, int mx)
    {
        int cy = ny / 2, cx = nx / 2, dy = my / 2, dx = mx / 2;
        int ky = (Math.Min(ny, my) - 1) / 2, kx = (Math.Min(nx, mx) - 1) / 2;
        var X = new Complex[2 * ky + 1, 2 * kx + 1];
        for (int a = -ky; a <= ky; a++)
            for (int b = -kx; b <= kx; b++)
            {
                Complex s = 0;
                for (int j = 0; j < ny; j++)
                    for (int i = 0; i < nx; i++)
                        s += x[j * nx + i] * Complex.Exp(new Complex(0, -2 * Math.PI * (a * (double)(j - cy) / ny + b * (double)(i - cx) / nx)));
                X[a + ky, b + kx] = s;
            }
        var y = new double[my * mx];
        for (int j = 0; j < my; j++)
            for (int i = 0; i < mx; i++)
            {
                Complex s = 0;
                for (int a = -ky; a <= ky; a++)
                    for (int b = -kx; b <= kx; b++)
                        s += X[a + ky, b + kx] * Complex.Exp(new Complex(0, 2 * Math.PI * (a * (double)(j - dy) / my + b * (double)(i - dx) / mx)));
                y[j * mx + i] = s.Real / ((double)ny * nx);
            }
        return y;
    }

    private static double[] RandomArray(int n, int seed)
    {
        var r = new Random(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = r.NextDouble() - 0.3;
        return a;
    }

    [Theory]
    [InlineData(7, 8, 5, 6)]
    [InlineData(8, 8, 5, 5)]
    [InlineData(9, 9, 6, 4)]
    [InlineData(6, 5, 9, 10)]
    [InlineData(5, 5, 8, 8)]
    [InlineData(8, 7, 8, 7)]
    public void TwoD_MatchesBruteForceDefinition(int ny, int nx, int my, int mx)
    {
        var x = RandomArray(ny * nx, ny * 100 + nx);
        var got = FourierResize.Resize2D(x, ny, nx, my, mx);
        var want = BruteResize2D(x, ny, nx, my, mx);
        for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], got[i], 1e-12);
    }

    [Theory]
    [InlineData(9, 5)]
    [InlineData(10, 6)]
    [InlineData(10, 7)]
    [InlineData(9, 14)]
    [InlineData(8, 13)]
    public void Mean_IsPreserved(int n, int l)
    {
        var v = new Volume(n, RandomArray(n * n * n, n + l), voxelSize: 2.0);
        var r = FourierResize.Resize(v, l);
        Assert.Equal(v.Mean(), r.Mean(), 1e-13);
        Assert.Equal(2.0 * n / l, r.VoxelSize, 1e-14);
        Assert.Equal(l, r.Size);
    }

    [Theory]
    [InlineData(9, 16)]   // odd -> even -> odd
    [InlineData(9, 13)]
    [InlineData(8, 15)]   // even (Nyquist-free input) -> odd -> even
    [InlineData(8, 12)]
    public void UpThenDown_IsIdentity(int n, int big)
    {
        var v = new Volume(n, RandomArray(n * n * n, n * big));
        if (n % 2 == 0) v = FourierResize.Resize(v, n); // drop the Nyquist plane, which no real resize can carry
        var back = FourierResize.Resize(FourierResize.Resize(v, big), n);
        for (int i = 0; i < v.Length; i++) Assert.Equal(v.Data[i], back.Data[i], 1e-12);
    }

    [Theory]
    [InlineData(32, 20, 3, 2)]
    [InlineData(33, 17, 5, 1)]
    [InlineData(17, 30, 4, 6)]
    public void BandlimitedCosine_KeepsItsAmplitude(int n, int l, int kx, int ky)
    {
        // f(x, y) = 0.5 + 2 cos(2π(kx·(x−c)/n + ky·(y−c)/n) + 0.3), sampled at n and expected at l (same physical field).
        double F(int i, int j, int size) => 0.5 + 2 * Math.Cos(2 * Math.PI * (kx * (double)(i - size / 2) + ky * (double)(j - size / 2)) / size + 0.3);
        var img = new double[n * n];
        for (int j = 0; j < n; j++) for (int i = 0; i < n; i++) img[j * n + i] = F(i, j, n);
        var got = FourierResize.Resize2D(img, n, n, l, l);
        for (int j = 0; j < l; j++) for (int i = 0; i < l; i++) Assert.Equal(F(i, j, l), got[j * l + i], 1e-12);
    }

    [Fact]
    public void ConstantVolume_StaysConstant_AndCentreMapsToCentre()
    {
        var v = new Volume(12);
        Array.Fill(v.Data, 3.5);
        var r = FourierResize.Resize(v, 7);
        Assert.All(r.Data, x => Assert.Equal(3.5, x, 1e-13));
        // A centred Gaussian stays centred (peak at floor(L/2)) for odd and even sizes.
        foreach (var (n, l) in new[] { (16, 9), (15, 8), (9, 16) })
        {
            var g = new Volume(n);
            for (int z = 0; z < n; z++) for (int y = 0; y < n; y++) for (int x = 0; x < n; x++)
            {
                double dz = z - n / 2, dy = y - n / 2, dx = x - n / 2;
                g[z, y, x] = Math.Exp(-(dx * dx + dy * dy + dz * dz) / 8.0);
            }
            var s = FourierResize.Resize(g, l);
            int arg = Array.IndexOf(s.Data, s.Data.Max());
            Assert.Equal(((l / 2) * l + l / 2) * l + l / 2, arg);
        }
    }

    [Theory]
    [InlineData(300, 101)]
    [InlineData(301, 100)]
    public void WhiteNoise_VarianceFollowsNoiseVarianceFactor(int m, int n)
    {
        var rng = new Random(7);
        var noise = new double[m * m];
        for (int i = 0; i < noise.Length; i++) noise[i] = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var d = FourierResize.Resize2D(noise, m, m, n, n);
        double f = FourierResize.NoiseVarianceFactor(m, n);
        double want = f * f;
        double var = d.Select(x => x * x).Average();
        // n² samples of a (nearly) white field: relative standard error √(2/n²) ≈ 1.4 %; allow 5 %.
        Assert.InRange(var / want, 0.95, 1.05);
        Assert.Equal((n % 2 == 1 ? n : n - 1) / (double)m, f, 1e-15);
    }

    [Theory]
    [InlineData(301)]
    [InlineData(65)]
    [InlineData(1003)]
    public void FftwDft_InPlaceEqualsOutOfPlace(int n)
    {
        // Regression: Fftw.Dft used an out-of-place plan for in-place calls, which FFTW does not allow.
        var rng = new Random(n);
        var x = Enumerable.Range(0, n).Select(_ => new Complex(rng.NextDouble(), rng.NextDouble())).ToArray();
        var outOfPlace = new Complex[n];
        CryoEmPS.Core.Native.Fftw.Dft(x, outOfPlace, new[] { n }, forward: true);
        var inPlace = (Complex[])x.Clone();
        CryoEmPS.Core.Native.Fftw.Dft(inPlace, new[] { n }, forward: true);
        for (int k = 0; k < n; k += 7)
        {
            Complex s = 0;
            for (int j = 0; j < n; j++) s += x[j] * Complex.Exp(new Complex(0, -2 * Math.PI * (double)k * j / n));
            Assert.True((s - outOfPlace[k]).Magnitude < 1e-9 * n, $"out-of-place k={k}");
            Assert.True((s - inPlace[k]).Magnitude < 1e-9 * n, $"in-place k={k}");
        }
    }

    [Fact]
    public void NonCubicVolume_Throws()
    {
        Assert.Throws<NonCubicVolumeException>(() => FourierResize.Resize(new Volume(4, 5, 5), 3));
    }
}
