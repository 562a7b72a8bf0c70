using System.Numerics;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Reconstruction;

namespace CryoEmPS.Core.Tests;

/// <summary>The E-step's lane-batched 2-D real FFT against a brute-force DFT (small sizes) and FFTW's complex DFT (all sizes).</summary>
public unsafe class LaneFft2DTests
{
    [Theory]
    [MemberData(nameof(Sizes))]
    public void ForwardMatchesTheDftInEveryLane(int m)
    {
        Forward<double, VectorLanes<double>>(m, 1e-15); Forward<float, VectorLanes<float>>(m, 3e-7);
        Forward<double, Vector512Lanes<double>>(m, 1e-15); Forward<float, Vector512Lanes<float>>(m, 3e-7);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void BackwardInvertsForwardUpToMSquaredAndCanStopEarly(int m)
    {
        Backward<double, VectorLanes<double>>(m, 1e-15); Backward<float, VectorLanes<float>>(m, 3e-7);
        Backward<double, Vector512Lanes<double>>(m, 1e-15); Backward<float, Vector512Lanes<float>>(m, 3e-7);
    }

    [Fact]
    public void LanesAreIndependentAndBitIdenticalToASingleTransform()
    {
        LanesIndependent<double, VectorLanes<double>>(); LanesIndependent<float, VectorLanes<float>>();
        LanesIndependent<double, Vector512Lanes<double>>(); LanesIndependent<float, Vector512Lanes<float>>();
    }

    [Theory]
    [InlineData(36)]
    [InlineData(35)]
    [InlineData(22)]
    public void VectorAnd512BitLanesGiveTheSameBits(int m) { SameBitsAcrossWidths<double>(m); SameBitsAcrossWidths<float>(m); }

    public static IEnumerable<object[]> Sizes() =>
        new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 20, 22, 24, 25, 27, 30, 33, 34, 35, 36, 40, 45, 48, 49, 50, 64, 66 }
            .Select(m => new object[] { m });

    /// <summary>Lane w of a random real M×M batch, and its spectrum by FFTW's complex DFT (or by the definition for M ≤ 8).</summary>
    private static (double[][] images, Complex[][] spectra) Batch(int m, int seed, int w)
    {
        var rng = new Random(seed);
        var images = new double[w][]; var spectra = new Complex[w][];
        for (int l = 0; l < w; l++)
        {
            images[l] = Enumerable.Range(0, m * m).Select(_ => rng.NextDouble() - 0.5).ToArray();
            var c = images[l].Select(v => new Complex(v, 0)).ToArray();
            if (m <= 8)
            {
                var f = new Complex[m * m];
                for (int ky = 0; ky < m; ky++)
                    for (int kx = 0; kx < m; kx++)
                    {
                        Complex s = 0;
                        for (int y = 0; y < m; y++)
                            for (int x = 0; x < m; x++)
                                s += c[y * m + x] * Complex.Exp(new Complex(0, -2 * Math.PI * (((long)ky * y % m) + (double)((long)kx * x % m)) / m));
                        f[ky * m + kx] = s;
                    }
                spectra[l] = f;
            }
            else { Fftw.Dft(c, new[] { m, m }, forward: true); spectra[l] = c; }
        }
        return (images, spectra);
    }

    /// <summary>Relative tolerance ε·(1 + log2 M²)·M on entries of size ~M (inputs in [−½, ½]).</summary>
    private static double Tolerance(int m, double eps) => eps * (1 + 2 * Math.Log2(m)) * m;

    private static TV Lane<T, TV>(double[] values) where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged, ILanes<TV, T>
        => TV.Create(values.Select(T.CreateTruncating).ToArray());

    private static void Forward<T, TV>(int m, double eps) where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged, ILanes<TV, T>
    {
        var fft = new LaneFft2D<T, TV>(m);
        int h = fft.H, w = LaneFft2D<T, TV>.Lanes;
        var (images, spectra) = Batch(m, m, w);
        TV* real = LaneFft2D<T, TV>.Alloc(fft.RealLength), re = LaneFft2D<T, TV>.Alloc(fft.ComplexLength), im = LaneFft2D<T, TV>.Alloc(fft.ComplexLength);
        using var scratch = new LaneFft2D<T, TV>.Scratch(fft);
        try
        {
            var lane = new double[w];
            for (int i = 0; i < m * m; i++) { for (int l = 0; l < w; l++) lane[l] = images[l][i]; real[i] = Lane<T, TV>(lane); }
            fft.Forward(real, re, im, scratch);
            double tol = Tolerance(m, eps);
            for (int l = 0; l < w; l++)
                for (int ky = 0; ky < m; ky++)
                    for (int kx = 0; kx < h; kx++)
                    {
                        var e = spectra[l][ky * m + kx];
                        double gr = double.CreateTruncating(re[ky * h + kx][l]), gi = double.CreateTruncating(im[ky * h + kx][l]);
                        Assert.True(Math.Abs(e.Real - gr) <= tol && Math.Abs(e.Imaginary - gi) <= tol,
                            $"M={m} lane {l} k=({ky},{kx}): {gr}+{gi}i, expected {e}");
                    }
            // The input is left untouched.
            for (int i = 0; i < m * m; i++) for (int l = 0; l < w; l++) Assert.Equal(T.CreateTruncating(images[l][i]), real[i][l]);
            // With rows = r, rows r… are not read and count as zero: the same as the transform of the image with them zeroed.
            foreach (int rows in new[] { 0, 1, m / 2, m - 1 }.Where(r => r >= 0 && r < m).Distinct())
            {
                var re2 = LaneFft2D<T, TV>.Alloc(fft.ComplexLength); var im2 = LaneFft2D<T, TV>.Alloc(fft.ComplexLength);
                try
                {
                    for (int i = rows * m; i < m * m; i++) real[i] = TV.Create(T.CreateTruncating(1e3)); // garbage, must not be read
                    fft.Forward(real, re2, im2, scratch, rows);
                    for (int i = rows * m; i < m * m; i++) real[i] = TV.Zero;
                    fft.Forward(real, re, im, scratch);
                    for (int k = 0; k < fft.ComplexLength; k++)
                        for (int l = 0; l < w; l++)
                            Assert.True(Math.Abs(double.CreateTruncating(re[k][l] - re2[k][l])) <= tol && Math.Abs(double.CreateTruncating(im[k][l] - im2[k][l])) <= tol,
                                $"M={m} rows={rows} element {k} lane {l}");
                }
                finally { System.Runtime.InteropServices.NativeMemory.AlignedFree(re2); System.Runtime.InteropServices.NativeMemory.AlignedFree(im2); }
            }
        }
        finally { System.Runtime.InteropServices.NativeMemory.AlignedFree(real); System.Runtime.InteropServices.NativeMemory.AlignedFree(re); System.Runtime.InteropServices.NativeMemory.AlignedFree(im); }
    }

    private static void Backward<T, TV>(int m, double eps) where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged, ILanes<TV, T>
    {
        var fft = new LaneFft2D<T, TV>(m);
        int h = fft.H, w = LaneFft2D<T, TV>.Lanes;
        var (images, spectra) = Batch(m, 100 + m, w);
        TV* real = LaneFft2D<T, TV>.Alloc(fft.RealLength), re = LaneFft2D<T, TV>.Alloc(fft.ComplexLength), im = LaneFft2D<T, TV>.Alloc(fft.ComplexLength);
        using var scratch = new LaneFft2D<T, TV>.Scratch(fft);
        try
        {
            foreach (int rows in new[] { m, Math.Max(0, m - 3), (m + 1) / 2 }.Distinct())
            {
                var lr = new double[w]; var li = new double[w];
                for (int ky = 0; ky < m; ky++)
                    for (int kx = 0; kx < h; kx++)
                    {
                        for (int l = 0; l < w; l++)
                        {
                            var c = spectra[l][ky * m + kx];
                            // The k_x = 0 and M/2 columns get an imaginary part that a real image cannot have: c2r ignores it.
                            bool selfConjugateColumn = kx == 0 || 2 * kx == m;
                            lr[l] = c.Real; li[l] = c.Imaginary + (selfConjugateColumn && ky == 0 ? 123.0 : 0.0);
                        }
                        re[ky * h + kx] = Lane<T, TV>(lr); im[ky * h + kx] = Lane<T, TV>(li);
                    }
                for (int i = 0; i < m * m; i++) real[i] = TV.Create(T.CreateTruncating(-7.0));
                fft.Backward(re, im, real, rows, scratch);
                double tol = Tolerance(m, eps) * m;
                for (int l = 0; l < w; l++)
                    for (int i = 0; i < m * m; i++)
                    {
                        if (i / m < rows)
                            Assert.True(Math.Abs(double.CreateTruncating(real[i][l]) - (double)m * m * images[l][i]) <= tol, $"M={m} rows={rows} lane {l} pixel {i}: {real[i][l]} vs {m * m * images[l][i]}");
                        else Assert.Equal(T.CreateTruncating(-7.0), real[i][l]); // rows past the requested ones are not written
                    }
            }
        }
        finally { System.Runtime.InteropServices.NativeMemory.AlignedFree(real); System.Runtime.InteropServices.NativeMemory.AlignedFree(re); System.Runtime.InteropServices.NativeMemory.AlignedFree(im); }
    }

    private static void LanesIndependent<T, TV>() where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged, ILanes<TV, T>
    {
        // Lane l of a batch gives the same bits as the same image alone in lane 0 (others zero): no cross-lane arithmetic.
        int m = 36, w = LaneFft2D<T, TV>.Lanes;
        var fft = new LaneFft2D<T, TV>(m);
        var (images, _) = Batch(m, 5, w);
        TV* real = LaneFft2D<T, TV>.Alloc(fft.RealLength), re = LaneFft2D<T, TV>.Alloc(fft.ComplexLength), im = LaneFft2D<T, TV>.Alloc(fft.ComplexLength);
        TV* re1 = LaneFft2D<T, TV>.Alloc(fft.ComplexLength), im1 = LaneFft2D<T, TV>.Alloc(fft.ComplexLength);
        using var scratch = new LaneFft2D<T, TV>.Scratch(fft);
        try
        {
            var lane = new double[w];
            for (int i = 0; i < m * m; i++) { for (int l = 0; l < w; l++) lane[l] = images[l][i]; real[i] = Lane<T, TV>(lane); }
            fft.Forward(real, re, im, scratch);
            for (int l = 0; l < w; l++)
            {
                for (int i = 0; i < m * m; i++) { Array.Clear(lane); lane[0] = images[l][i]; real[i] = Lane<T, TV>(lane); }
                fft.Forward(real, re1, im1, scratch);
                for (int k = 0; k < fft.ComplexLength; k++)
                {
                    Assert.True(re[k][l].Equals(re1[k][0]) && im[k][l].Equals(im1[k][0]), $"lane {l} element {k}");
                }
            }
        }
        finally
        {
            foreach (var p in new[] { (IntPtr)real, (IntPtr)re, (IntPtr)im, (IntPtr)re1, (IntPtr)im1 }) System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)p);
        }
    }

    /// <summary>The same batch of 16 images through 512-bit lanes and through Vector&lt;T&gt; lanes: identical bits, forward and back.</summary>
    private static void SameBitsAcrossWidths<T>(int m) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int n = 16;
        var (images, _) = Batch(m, 9, n);
        var wide = Transform<T, Vector512Lanes<T>>(m, images);
        var narrow = Transform<T, VectorLanes<T>>(m, images);
        for (int l = 0; l < n; l++)
            for (int i = 0; i < wide[l].Length; i++)
                Assert.True(wide[l][i].Equals(narrow[l][i]), $"M={m} image {l} value {i}: {wide[l][i]} vs {narrow[l][i]}");
    }

    /// <summary>Per image: its half spectrum (re, im) and the first M−1 rows of the c2r of that spectrum, as one list.</summary>
    private static T[][] Transform<T, TV>(int m, double[][] images) where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged, ILanes<TV, T>
    {
        var fft = new LaneFft2D<T, TV>(m);
        int w = LaneFft2D<T, TV>.Lanes, cl = fft.ComplexLength, rows = m - 1;
        var result = images.Select(_ => new T[2 * cl + rows * m]).ToArray();
        TV* real = LaneFft2D<T, TV>.Alloc(fft.RealLength), re = LaneFft2D<T, TV>.Alloc(cl), im = LaneFft2D<T, TV>.Alloc(cl);
        using var scratch = new LaneFft2D<T, TV>.Scratch(fft);
        try
        {
            var lane = new double[w];
            for (int b = 0; b < images.Length; b += w)
            {
                for (int i = 0; i < m * m; i++) { for (int l = 0; l < w; l++) lane[l] = b + l < images.Length ? images[b + l][i] : 0; real[i] = Lane<T, TV>(lane); }
                fft.Forward(real, re, im, scratch);
                for (int l = 0; l < w && b + l < images.Length; l++)
                    for (int k = 0; k < cl; k++) { result[b + l][k] = re[k][l]; result[b + l][cl + k] = im[k][l]; }
                fft.Backward(re, im, real, rows, scratch);
                for (int l = 0; l < w && b + l < images.Length; l++)
                    for (int i = 0; i < rows * m; i++) result[b + l][2 * cl + i] = real[i][l];
            }
            return result;
        }
        finally { System.Runtime.InteropServices.NativeMemory.AlignedFree(real); System.Runtime.InteropServices.NativeMemory.AlignedFree(re); System.Runtime.InteropServices.NativeMemory.AlignedFree(im); }
    }
}
