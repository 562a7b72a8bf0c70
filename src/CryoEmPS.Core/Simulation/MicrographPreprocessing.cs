using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Simulation;

/// <summary>
/// Preprocessing of a real (or simulated) micrograph before patch extraction: Fourier downsampling, contrast inversion,
/// normalisation and whitening (issue 12). Every operation returns a <see cref="Micrograph.Copy"/> (the input is never
/// changed) with its bookkeeping updated: pixel size, <see cref="Micrograph.NoiseVariance"/>,
/// <see cref="Micrograph.NoiseSpectrum"/>, <see cref="Micrograph.Whitening"/> and the CTF. The cmdlets record the
/// <see cref="MicrographStep"/>s.
/// </summary>
public static class MicrographPreprocessing
{
    /// <summary>
    /// The size after downsampling a <paramref name="sizeY"/>×<paramref name="sizeX"/> micrograph so that its longer side is
    /// <paramref name="longSide"/> pixels: the shorter side is scaled by the same factor and rounded to the nearest integer
    /// (at least 1).
    /// </summary>
    public static (int SizeY, int SizeX) ResizedShape(int sizeY, int sizeX, int longSide)
    {
        if (sizeY <= 0 || sizeX <= 0 || longSide <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(longSide), longSide, "Sizes must be positive.");
        }

        int longer = Math.Max(sizeY, sizeX), shorter = Math.Min(sizeY, sizeX);
        int other = Math.Max(1, (int)Math.Round((double)shorter * longSide / longer, MidpointRounding.AwayFromZero));
        other = Math.Min(other, longSide);
        return sizeY >= sizeX ? (longSide, other) : (other, longSide);
    }

    /// <summary>
    /// The longer side, in pixels, that brings a micrograph of longer side <paramref name="longer"/> at
    /// <paramref name="pixelSize"/> Å/px to <paramref name="targetPixelSize"/> Å/px (rounded to the nearest integer).
    /// </summary>
    public static int LongSideFor(int longer, double pixelSize, double targetPixelSize)
    {
        if (!(pixelSize > 0) || !(targetPixelSize > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(targetPixelSize), "Pixel sizes must be positive.");
        }

        return Math.Max(1, (int)Math.Round(longer * pixelSize / targetPixelSize, MidpointRounding.AwayFromZero));
    }

    /// <summary>
    /// Downsamples <paramref name="micrograph"/> to <paramref name="sizeY"/>×<paramref name="sizeX"/> by centred Fourier
    /// cropping (<see cref="FourierResize"/>: the mean and every frequency below the new Nyquist are kept; the grid origin
    /// floor(n/2) maps to floor(L/2)). The pixel size becomes p·n/L with n, L the longer side before and after (exact on that
    /// axis; the shorter axis, rounded, may differ by at most 1/(2L_short) relative: a radial spectrum and one pixel size
    /// cannot tell the axes apart). A frequency of f cycles/new pixel was f·r cycles/old pixel, r = L/n; so the noise spectrum
    /// becomes S'(f) = (L_y/n_y)(L_x/n_x)·S(r·f) (the DFT of the cropped image is L/n times the kept coefficients per axis),
    /// the whitening spectrum W'(f) = W(r·f) (a filter on the signal, whose values cropping keeps), the CTF moves to the new
    /// pixel size, and the white-noise variance is multiplied by Π kept/n per axis (<see cref="FourierResize.NoiseVarianceFactor"/>,
    /// exact for white noise; for a coloured spectrum by the ratio of the spectra's variances over the DFT grids). Upsampling
    /// is refused (<see cref="ArgumentOutOfRangeException"/>): the frequencies it would add hold no noise power, so the spectrum
    /// would be zero there and could not be whitened. The same size returns a plain copy. Truth and clean image are dropped.
    /// </summary>
    public static Micrograph Resize(Micrograph micrograph, int sizeY, int sizeX, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(micrograph);
        int ny = micrograph.SizeY, nx = micrograph.SizeX;
        if (sizeY <= 0 || sizeX <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeY), $"The new size must be positive; got {sizeY}×{sizeX}.");
        }

        if (sizeY > ny || sizeX > nx)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeY),
                $"Resizing {ny}×{nx} to {sizeY}×{sizeX} would upsample; only downsampling (Fourier cropping) is supported.");
        }

        if (sizeY == ny && sizeX == nx)
        {
            return micrograph.Copy();
        }

        var data = FourierResize.Resize2D(micrograph.Data, ny, nx, sizeY, sizeX, cancellationToken);
        var copy = micrograph.Copy(data, sizeY, sizeX);
        int longer = Math.Max(ny, nx), longSide = ny >= nx ? sizeY : sizeX;
        double r = (double)longSide / longer;
        copy.PixelSize = micrograph.PixelSize > 0 ? micrograph.PixelSize / r : 0;
        double valueScale = (double)sizeY / ny * sizeX / nx;
        if (micrograph.NoiseSpectrum is { } spectrum)
        {
            copy.NoiseSpectrum = Resampled(spectrum, r, valueScale, copy.PixelSize);
        }

        if (micrograph.Whitening is { } whitening)
        {
            copy.Whitening = Resampled(whitening, r, 1, copy.PixelSize);
        }

        if (micrograph.Ctf is { } ctf)
        {
            copy.Ctf = ctf.WithPixelSize(ctf.PixelSize / r);
        }

        if (double.IsFinite(micrograph.NoiseVariance))
        {
            copy.NoiseVariance = micrograph.NoiseSpectrum is { IsWhite: false } coloured
                ? micrograph.NoiseVariance * copy.NoiseSpectrum!.Variance(sizeY, sizeX) / coloured.Variance(ny, nx)
                : micrograph.NoiseVariance * FourierResize.NoiseVarianceFactor(ny, sizeY) * FourierResize.NoiseVarianceFactor(nx, sizeX);
        }

        return copy;
    }

    /// <summary>
    /// <paramref name="spectrum"/> on an image resampled by <paramref name="frequencyScale"/> (old pixels per new pixel, ≤ 1
    /// when downsampling): S'(f) = <paramref name="valueScale"/>·S(frequencyScale·f), with the same number of samples.
    /// </summary>
    public static NoiseSpectrum Resampled(NoiseSpectrum spectrum, double frequencyScale, double valueScale, double pixelSize)
    {
        ArgumentNullException.ThrowIfNull(spectrum);
        if (spectrum.IsWhite)
        {
            return new NoiseSpectrum(spectrum.Power.Select(p => p * valueScale).ToArray(), pixelSize, spectrum.Name);
        }

        var power = new double[spectrum.Count];
        for (int i = 0; i < power.Length; i++)
        {
            power[i] = valueScale * spectrum.At(frequencyScale * spectrum.Frequency(i));
        }

        return new NoiseSpectrum(power, pixelSize, spectrum.Name);
    }

    /// <summary>−1 × every pixel (raw micrographs have dark particles; CryoEmPS's, and the CTF convention, white ones).</summary>
    public static Micrograph InvertContrast(Micrograph micrograph)
    {
        ArgumentNullException.ThrowIfNull(micrograph);
        var data = new double[micrograph.Data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = -micrograph.Data[i];
        }

        return micrograph.Copy(data);
    }

    /// <summary>
    /// Subtracts the mean and divides by σ = √<paramref name="noiseVariance"/> (the noise variance per pixel), so the noise
    /// has unit variance: NoiseVariance becomes 1 and the noise spectrum is divided by σ². <see cref="Micrograph.Whitening"/>
    /// is left as it is (it records the spectral shape the image was divided by); the 1/σ, which scales the signal too, goes
    /// into <see cref="Micrograph.SignalScale"/>.
    /// </summary>
    public static Micrograph Normalize(Micrograph micrograph, double noiseVariance)
    {
        ArgumentNullException.ThrowIfNull(micrograph);
        if (!(noiseVariance > 0) || !double.IsFinite(noiseVariance))
        {
            throw new ArgumentOutOfRangeException(nameof(noiseVariance), noiseVariance, "The noise variance must be positive and finite.");
        }

        var source = micrograph.Data;
        double mean = 0;
        for (int i = 0; i < source.Length; i++)
        {
            mean += source[i];
        }

        mean /= source.Length;
        double scale = 1 / Math.Sqrt(noiseVariance);
        var data = new double[source.Length];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (source[i] - mean) * scale;
        }

        var copy = micrograph.Copy(data);
        copy.NoiseVariance = 1;
        copy.NoiseSpectrum = micrograph.NoiseSpectrum?.Scaled(1 / noiseVariance);
        copy.SignalScale = micrograph.SignalScale * scale;
        return copy;
    }

    /// <summary>
    /// The noise variance per pixel of <paramref name="micrograph"/>: its noise spectrum's mean over the DFT grid when it has
    /// one, else its <see cref="Micrograph.NoiseVariance"/> when known, else NaN.
    /// </summary>
    public static double KnownNoiseVariance(Micrograph micrograph)
    {
        ArgumentNullException.ThrowIfNull(micrograph);
        if (micrograph.NoiseSpectrum is { } spectrum)
        {
            return spectrum.IsWhite ? spectrum.Power[0] : spectrum.Variance(micrograph.SizeY, micrograph.SizeX);
        }

        return micrograph.NoiseVariance > 0 ? micrograph.NoiseVariance : double.NaN;
    }

    /// <summary>
    /// Divides the micrograph's DFT by √S(|f|) (one real FFT of the whole micrograph each way, FFTW), so noise of spectrum
    /// <paramref name="spectrum"/> becomes white of variance 1: NoiseVariance = 1, NoiseSpectrum = White(1), and
    /// <see cref="Micrograph.Whitening"/> = the spectrum divided by, composed (multiplied, sample by sample on the finer of the
    /// two samplings) with an earlier whitening. The CTF stays: the EM's filter for this micrograph becomes CTF/√Whitening
    /// (<see cref="MicrographFilter"/>). Memory: the image, 8·N pixels for the real buffer and 16·N/2 for the half spectrum
    /// (about 400 MB for 4096²).
    /// </summary>
    public static Micrograph Whiten(Micrograph micrograph, NoiseSpectrum spectrum, IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(micrograph);
        ArgumentNullException.ThrowIfNull(spectrum);
        // The whole micrograph's DFT divided by √S(|f|): the simulator's whole-image filter (FourierFilter) with that transfer.
        var data = (double[])micrograph.Data.Clone();
        progress?.Report(0.1);
        FourierFilter.Apply(data, micrograph.SizeY, micrograph.SizeX, (fx, fy) => 1 / Math.Sqrt(spectrum.At(Math.Sqrt(fx * fx + fy * fy))),
            cancellationToken);
        progress?.Report(1);

        var copy = micrograph.Copy(data);
        double pixelSize = micrograph.PixelSize;
        copy.NoiseVariance = 1;
        copy.NoiseSpectrum = NoiseSpectrum.White(1, pixelSize);
        var used = new NoiseSpectrum(spectrum.Power, pixelSize > 0 ? pixelSize : spectrum.PixelSize, spectrum.Name);
        copy.Whitening = micrograph.Whitening is { } earlier ? Composed(earlier, used) : used;
        return copy;
    }

    /// <summary>The product of two spectra, on the finer of their samplings (a whitening after a whitening).</summary>
    public static NoiseSpectrum Composed(NoiseSpectrum first, NoiseSpectrum second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        int count = Math.Max(first.Count, second.Count);
        var power = new double[count];
        for (int i = 0; i < count; i++)
        {
            double f = 0.5 * i / (count - 1);
            power[i] = first.At(f) * second.At(f);
        }

        return new NoiseSpectrum(power, second.PixelSize > 0 ? second.PixelSize : first.PixelSize, second.Name);
    }
}
