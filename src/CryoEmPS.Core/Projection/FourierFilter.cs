using System.Numerics;
using CryoEmPS.Core.Native;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// A real image multiplied in Fourier space by a real transfer function T(f_x, f_y) (f in cycles/pixel, DFT frequencies):
/// image ← DFT⁻¹(T · DFT(image)), a circular convolution over the whole image. The simulator applies the CTF and colours the
/// noise of a whole micrograph with it, as the microscope and the detector act on the whole field.
/// </summary>
public static unsafe class FourierFilter
{
    /// <summary>Filters the <paramref name="sizeY"/>×<paramref name="sizeX"/> image [y, x] in place.</summary>
    public static void Apply(Span<double> image, int sizeY, int sizeX, Func<double, double, double> transfer,
        CancellationToken cancellationToken = default)
    {
        if (image.Length < (long)sizeY * sizeX)
        {
            throw new ArgumentException($"The image holds {image.Length} values; {sizeY}×{sizeX} needed.", nameof(image));
        }

        int half = sizeX / 2 + 1;
        using var fft = new RealFft2D(sizeY, sizeX, measure: false);
        var real = Fftw.Alloc<double>((long)sizeY * sizeX);
        var spectrum = Fftw.Alloc<Complex>((long)sizeY * half);
        try
        {
            image[..(sizeY * sizeX)].CopyTo(new Span<double>(real, sizeY * sizeX));
            fft.Forward(real, spectrum);
            cancellationToken.ThrowIfCancellationRequested();
            double scale = 1.0 / ((double)sizeY * sizeX);
            var transferOfX = new double[half];
            for (int y = 0; y < sizeY; y++)
            {
                double fy = NoiseSpectrum.Frequency(y, sizeY);
                for (int x = 0; x < half; x++)
                {
                    spectrum[(long)y * half + x] *= transfer(x / (double)sizeX, fy) * scale;
                }

                if ((y & 255) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            fft.Backward(spectrum, real);
            new ReadOnlySpan<double>(real, sizeY * sizeX).CopyTo(image);
        }
        finally
        {
            Fftw.Free((IntPtr)real);
            Fftw.Free((IntPtr)spectrum);
        }
    }

    /// <summary>
    /// ‖F·image‖² for each of the <paramref name="count"/> <paramref name="size"/>×<paramref name="size"/> images of
    /// <paramref name="images"/> ([image, y, x]): the energy after the filter, by Parseval on a zero-padded grid of side
    /// P ≥ 4·size (so the filtered image's spread is kept, not cut to the box): (1/P²) Σ_k |T(k)|²|Î(k)|², a Riemann sum of
    /// the continuous ∫|T|²|Î|² on frequencies 1/P apart (the CTF oscillates, so the grid is finer than the image needs).
    /// </summary>
    public static double[] FilteredEnergies(ReadOnlySpan<double> images, int size, int count, Func<double, double, double> transfer)
    {
        int p = ForwardModel.FastFftSize(4 * size), half = p / 2 + 1;
        var weight = new double[p * half];
        for (int y = 0; y < p; y++)
        {
            double fy = NoiseSpectrum.Frequency(y, p);
            for (int x = 0; x < half; x++)
            {
                double t = transfer(x / (double)p, fy);
                // The half spectrum holds x = 0 and x = p/2 once, every other column for itself and its mirror.
                weight[y * half + x] = (x == 0 || 2 * x == p ? 1 : 2) * t * t;
            }
        }

        var energies = new double[count];
        using var fft = new RealFft2D(p, p, measure: false);
        var real = Fftw.Alloc<double>((long)p * p);
        var spectrum = Fftw.Alloc<Complex>((long)p * half);
        try
        {
            for (int i = 0; i < count; i++)
            {
                new Span<double>(real, p * p).Clear();
                for (int y = 0; y < size; y++)
                {
                    images.Slice(i * size * size + y * size, size).CopyTo(new Span<double>(real + (long)y * p, size));
                }

                fft.Forward(real, spectrum);
                double energy = 0;
                for (int k = 0; k < p * half; k++)
                {
                    var value = spectrum[k];
                    energy += weight[k] * (value.Real * value.Real + value.Imaginary * value.Imaginary);
                }

                energies[i] = energy / ((double)p * p);
            }

            return energies;
        }
        finally
        {
            Fftw.Free((IntPtr)real);
            Fftw.Free((IntPtr)spectrum);
        }
    }
}
