using System.Numerics;
using CryoEmPS.Core.Native;

namespace CryoEmPS.Core.Tests;

public unsafe class NativeTests
{
    [Fact]
    public void ComplexDftMatchesBruteForceWithForwardSignMinus()
    {
        int ny = 5, nx = 6;
        var rng = new Random(3);
        var a = new Complex[ny * nx];
        for (int i = 0; i < a.Length; i++) a[i] = new Complex(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5);
        var f = (Complex[])a.Clone();
        Fftw.Dft(f, new[] { ny, nx }, forward: true);
        for (int ky = 0; ky < ny; ky++)
            for (int kx = 0; kx < nx; kx++)
            {
                Complex s = 0;
                for (int y = 0; y < ny; y++)
                    for (int x = 0; x < nx; x++)
                        s += a[y * nx + x] * Complex.Exp(new Complex(0, -2 * Math.PI * ((double)ky * y / ny + (double)kx * x / nx)));
                Assert.True((s - f[ky * nx + kx]).Magnitude < 1e-12);
            }
        Fftw.Dft(f, new[] { ny, nx }, forward: false);
        for (int i = 0; i < a.Length; i++) Assert.True((f[i] / (ny * nx) - a[i]).Magnitude < 1e-14);
    }

    [Fact]
    public void RealFft2DRoundTripsOnAlignedBuffers()
    {
        using var fft = new RealFft2D(36, 36);
        var r = Fftw.Alloc<double>(fft.RealLength);
        var c = Fftw.Alloc<Complex>(fft.ComplexLength);
        try
        {
            var rng = new Random(1);
            var orig = new double[fft.RealLength];
            for (int i = 0; i < orig.Length; i++) r[i] = orig[i] = rng.NextDouble();
            fft.Forward(r, c);
            double dc = 0; foreach (var v in orig) dc += v;
            Assert.True(Math.Abs(dc - c[0].Real) <= 1e-12 * dc, $"DC {c[0].Real:R} vs {dc:R}");
            fft.Backward(c, r);
            // A tolerance, not rounding to n places (which fails when the two values straddle a rounding boundary).
            for (int i = 0; i < orig.Length; i++) Assert.True(Math.Abs(orig[i] - r[i] / fft.RealLength) <= 1e-14, $"pixel {i}: {r[i] / fft.RealLength:R} vs {orig[i]:R}");
        }
        finally { Fftw.Free((IntPtr)r); Fftw.Free((IntPtr)c); }
    }

    [Fact]
    public void SyrkAndCholeskySolveASymmetricSystem()
    {
        int n = 7, k = 20;
        var rng = new Random(5);
        var a = new double[k * n];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextDouble() - 0.5;
        var c = new double[n * n];
        fixed (double* pa = a, pc = c) Blas.SyrkAtA(n, k, 1.0, pa, 0.0, pc);
        // brute-force AᵀA upper triangle
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
            {
                double s = 0; for (int t = 0; t < k; t++) s += a[t * n + i] * a[t * n + j];
                Assert.Equal(s, c[i * n + j], 12);
            }
        var xTrue = Enumerable.Range(0, n).Select(i => (double)i - 3).ToArray();
        var b = new double[n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) { double cij = i <= j ? c[i * n + j] : c[j * n + i]; b[i] += cij * xTrue[j]; }
        fixed (double* pc = c, pb = b)
        {
            Assert.Equal(0, Blas.CholeskyFactor(n, pc));
            Assert.Equal(0, Blas.CholeskySolve(n, pc, pb));
        }
        for (int i = 0; i < n; i++) Assert.Equal(xTrue[i], b[i], 9);
    }
}

public class FftwWisdomTests
{
    [Fact]
    public void MeasuredPlansAreSavedToTheSharedWisdomFile()
    {
        var dir = Directory.CreateTempSubdirectory("cryoemps-wisdom");
        try
        {
            string path = Path.Combine(dir.FullName, "sub", "wisdom.txt");
            bool ran = false;
            lock (Fftw.Planner) FftwWisdom.PlanShared(path, () => { using var f = new RealFft2D(30, 30, measure: false); ran = true; });
            Assert.True(ran);
            Assert.True(File.Exists(path));
            Assert.StartsWith("(fftw-3", File.ReadAllText(path));
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void AnUnusableWisdomPathNeverFailsPlanning()
    {
        var file = Path.GetTempFileName(); // a file where a folder is expected
        try
        {
            bool ran = false;
            lock (Fftw.Planner) FftwWisdom.PlanShared(Path.Combine(file, "x", "wisdom.txt"), () => ran = true);
            Assert.True(ran);
        }
        finally { File.Delete(file); }
    }
}
