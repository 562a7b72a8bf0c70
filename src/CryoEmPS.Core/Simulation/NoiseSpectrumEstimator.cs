using System.Numerics;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Core.Simulation;

/// <summary>
/// Measures the radial noise power spectrum of a micrograph (Measure-NoiseSpectrum), robustly against the particles in it:
/// <list type="number">
/// <item>subtract the micrograph's mean and cut it into T×T tiles (T = <see cref="TileSize"/>, clamped to the image), on a
/// grid of step T/2 (half-overlapping, Welch) or T, centred in the micrograph;</item>
/// <item>taper each tile with a separable sin² (Hann) window when <see cref="Taper"/> is set, and take its periodogram
/// |DFT|²/Σw² (so white noise of variance σ² reads σ² at every frequency, the <see cref="NoiseSpectrum"/> normalisation);</item>
/// <item>average the periodogram over each radial shell of the full DFT grid: shell i holds the frequencies |f| within half
/// a shell width of f_i = i·0.5/(C − 1), C = <see cref="Shells"/> (default T/2 + 1, one DFT index wide); corners beyond
/// Nyquist are left out;</item>
/// <item>combine the tiles per shell: the <see cref="SpectrumAverage.Median"/> across tiles, divided by the median of a shell
/// average of pure noise (mean 1), or the plain <see cref="SpectrumAverage.Mean"/>.</item>
/// </list>
/// The median's correction: for Gaussian noise whose spectrum is locally flat, a shell average Y is a quadratic form in the
/// noise; its mean is σ² and its variance 2σ⁴/(m²(Σw²)²)·Σ_{k,k'∈shell}|Ŵ₂(k − k')|² (Ŵ₂ = DFT of w², m = the shell's
/// pixels; the Hermitian pairs k, −k are counted by the factor 2). Y is taken as a Gamma law with that mean and variance,
/// of shape κ; its median is below its mean by the factor median(Γ(κ))/κ, which the estimate is divided by. κ = 1/2 for
/// the DC shell (one real value: the median of a χ²₁ is 0.455 of its mean), about πr for the untapered shell of radius r
/// (so the factor tends to 1; ln 2 is the single complex value's κ = 1), less when tapered (neighbouring values are
/// correlated). With fewer than 3 tiles the mean is used (the median of one or two values is not the population's).
/// Sample 0 (the DC: one real value per tile, biased by particles and gradients) is extrapolated from samples 1 and 2,
/// S(0) = (4·S(f₁) − S(f₂))/3 (the even quadratic through them), at least S(f₁)/2. The estimate is the spectrum smoothed
/// over about 2/T cycles/pixel (the tapered tile's resolution): choose T well below the scale on which the spectrum
/// changes. Measured on 256² coloured noise with T = 32: see MicrographPreprocessingTests and the commit message.
/// Tiles run in parallel, each into its own slot, and are combined in a fixed order: the result does not depend on the
/// thread count. Immutable.
/// </summary>
public sealed unsafe class NoiseSpectrumEstimator
{
    /// <summary>
    /// With <see cref="SpectrumAverage.Median"/>: the quantile q across tiles taken per shell (0.5, the median, by default), divided
    /// by the same quantile of a pure-noise shell average. A lower q leans on the tiles with the least particle signal: in a
    /// crowded micrograph at high SNR every tile holds particles, and their power lifts the median at low frequencies.
    /// </summary>
    public double Quantile { get; }

    /// <summary>
    /// The default tile side, pixels: small tiles fit between particles. Measured on the CTF benchmark's crowded micrographs
    /// (γ = 0.4, SNR 1, 'Falloff' noise; benchmarks/Measure-Ctf.ps1): RMS error over the shells 9–10 % with 16, 22–24 % with 32,
    /// 105 % with 64 and 145–150 % with 128 (every larger tile holds particle signal); on noise alone 2–3.5 % with 16.
    /// </summary>
    public const int DefaultTileSize = 16;

    /// <summary>The smallest tile side, pixels.</summary>
    public const int MinimumTileSize = 8;

    /// <summary>An estimator; <paramref name="shells"/> 0 means T/2 + 1 samples.</summary>
    public NoiseSpectrumEstimator(int tileSize = DefaultTileSize, int shells = 0, bool taper = true,
        SpectrumAverage average = SpectrumAverage.Median, bool overlap = true, double quantile = 0.5)
    {
        if (!(quantile > 0 && quantile < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, $"The quantile must lie in (0, 1); got {quantile}.");
        }

        Quantile = quantile;
        if (tileSize < MinimumTileSize)
        {
            throw new ArgumentOutOfRangeException(nameof(tileSize), tileSize,
                $"The tile side must be at least {MinimumTileSize} pixels; got {tileSize}.");
        }

        if (shells != 0 && shells < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(shells), shells,
                $"A noise spectrum needs at least 2 shells (0 and Nyquist); got {shells}.");
        }

        TileSize = tileSize;
        Shells = shells;
        Taper = taper;
        Average = average;
        Overlap = overlap;
    }

    /// <summary>T, the requested tile side in pixels (clamped to the micrograph's shorter side).</summary>
    public int TileSize { get; }

    /// <summary>C, the number of samples of the spectrum (0: T/2 + 1).</summary>
    public int Shells { get; }

    /// <summary>True: each tile is multiplied by a sin² (Hann) window before its DFT.</summary>
    public bool Taper { get; }

    /// <summary>How tiles are combined per shell.</summary>
    public SpectrumAverage Average { get; }

    /// <summary>True: tiles step by T/2 (half-overlapping); false: by T.</summary>
    public bool Overlap { get; }

    /// <summary>The tile side used on a <paramref name="sizeY"/>×<paramref name="sizeX"/> micrograph.</summary>
    public int TileSideFor(int sizeY, int sizeX) => Math.Min(TileSize, Math.Min(sizeY, sizeX));

    /// <summary>The number of samples C for tiles of side <paramref name="tile"/>.</summary>
    public int ShellCountFor(int tile) => Shells > 0 ? Shells : tile / 2 + 1;

    /// <summary>
    /// The number of tiles on a <paramref name="sizeY"/>×<paramref name="sizeX"/> micrograph (only those wholly on the
    /// <paramref name="background"/> when one is given).
    /// </summary>
    public int TileCount(int sizeY, int sizeX, bool[]? background = null)
        => Tiles(sizeY, sizeX, TileSideFor(sizeY, sizeX), background).Length;

    /// <summary>The tiles' top-left corners, row by row: the grid of <see cref="Positions"/>, less those not wholly on the background.</summary>
    private (int Row, int Column)[] Tiles(int sizeY, int sizeX, int t, bool[]? background)
    {
        var rows = Positions(sizeY, t);
        var columns = Positions(sizeX, t);
        var tiles = new List<(int, int)>(rows.Length * columns.Length);
        foreach (int row in rows)
        {
            foreach (int column in columns)
            {
                if (background == null || WhollyOn(background, sizeX, row, column, t))
                {
                    tiles.Add((row, column));
                }
            }
        }

        return tiles.ToArray();
    }

    private static bool WhollyOn(bool[] background, int sizeX, int row, int column, int t)
    {
        for (int y = row; y < row + t; y++)
        {
            for (int x = column; x < column + t; x++)
            {
                if (!background[(long)y * sizeX + x])
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// The noise spectrum of <paramref name="image"/> (<paramref name="sizeY"/>×<paramref name="sizeX"/>, x fastest), named
    /// "estimated", at <paramref name="pixelSize"/> Å/px (0 = unknown). Throws <see cref="ArgumentException"/> for a micrograph
    /// smaller than <see cref="MinimumTileSize"/>, more shells than T/2 + 1, or an image without noise (a zero power).
    /// </summary>
    public NoiseSpectrum Estimate(double[] image, int sizeY, int sizeX, double pixelSize = 0, IProgress<double>? progress = null,
        CancellationToken cancellationToken = default) => Estimate(image, sizeY, sizeX, null, pixelSize, progress, cancellationToken);

    /// <summary>
    /// The noise spectrum of <paramref name="image"/> measured only on its <paramref name="background"/> (true: a pixel free of
    /// particle signal; null: every pixel): of the tile grid, only the tiles that lie wholly on the background are used, and the
    /// mean subtracted first is the background's. Throws <see cref="ArgumentException"/> as the overload without a mask does,
    /// and when no tile fits on the background.
    /// </summary>
    public NoiseSpectrum Estimate(double[] image, int sizeY, int sizeX, bool[]? background, double pixelSize = 0,
        IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (sizeY <= 0 || sizeX <= 0 || image.Length != (long)sizeY * sizeX)
        {
            throw new ArgumentException($"The image holds {image.Length} values, not {sizeY}×{sizeX}.", nameof(image));
        }

        if (background != null && background.Length != image.Length)
        {
            throw new ArgumentException($"The background mask holds {background.Length} values, not {sizeY}×{sizeX}.", nameof(background));
        }

        int t = TileSideFor(sizeY, sizeX);
        if (t < MinimumTileSize)
        {
            throw new ArgumentException(
                $"A {sizeY}×{sizeX} micrograph is too small to measure a noise spectrum: tiles need at least {MinimumTileSize} pixels a side.",
                nameof(image));
        }

        int c = ShellCountFor(t);
        if (c > t / 2 + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Shells), Shells,
                $"{Shells} shells are more than tiles of {t} pixels resolve (at most {t / 2 + 1}); give fewer shells or larger tiles.");
        }

        var origins = Tiles(sizeY, sizeX, t, background);
        int tiles = origins.Length;
        if (tiles == 0)
        {
            throw new ArgumentException(
                $"No tile of {t}×{t} pixels lies wholly on the background of this {sizeY}×{sizeX} micrograph; give smaller tiles or a larger background.",
                nameof(background));
        }

        double mean = 0;
        long used = 0;
        for (int i = 0; i < image.Length; i++)
        {
            if (background == null || background[i])
            {
                mean += image[i];
                used++;
            }
        }

        mean /= used;
        var window = Window(t);
        double norm = 0;
        foreach (double w in window)
        {
            norm += w * w;
        }

        norm *= norm;
        int half = t / 2 + 1;
        var (halfBin, halfWeight) = HalfSpectrumBins(t, c);
        var pixels = new double[c];
        for (int i = 0; i < halfBin.Length; i++)
        {
            if (halfBin[i] >= 0)
            {
                pixels[halfBin[i]] += halfWeight[i];
            }
        }

        var shellAverages = new double[tiles * c];
        using var fft = new RealFft2D(t, t, measure: false);
        int done = 0;
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        Parallel.For(0, tiles, options,
            () => ((IntPtr)Fftw.Alloc<double>((long)t * t), (IntPtr)Fftw.Alloc<Complex>((long)t * half)),
            (tile, _, buffers) =>
            {
                var real = (double*)buffers.Item1;
                var spectrum = (Complex*)buffers.Item2;
                var (row0, column0) = origins[tile];
                for (int y = 0; y < t; y++)
                {
                    long source = (long)(row0 + y) * sizeX + column0;
                    double wy = window[y];
                    for (int x = 0; x < t; x++)
                    {
                        real[y * t + x] = (image[source + x] - mean) * wy * window[x];
                    }
                }

                fft.Forward(real, spectrum);
                var sums = new Span<double>(shellAverages, tile * c, c);
                for (int i = 0; i < t * half; i++)
                {
                    int bin = halfBin[i];
                    if (bin >= 0)
                    {
                        Complex v = spectrum[i];
                        sums[bin] += halfWeight[i] * (v.Real * v.Real + v.Imaginary * v.Imaginary);
                    }
                }

                for (int b = 0; b < c; b++)
                {
                    sums[b] /= pixels[b] * norm;
                }

                int count = Interlocked.Increment(ref done);
                if (progress != null && (count % 16 == 0 || count == tiles))
                {
                    progress.Report((double)count / tiles);
                }

                return buffers;
            },
            buffers =>
            {
                Fftw.Free(buffers.Item1);
                Fftw.Free(buffers.Item2);
            });

        bool median = Average == SpectrumAverage.Median && tiles >= 3;
        var correction = median ? MedianCorrection(t, c, window) : null;
        var power = new double[c];
        var column = new double[tiles];
        for (int b = 0; b < c; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int i = 0; i < tiles; i++)
            {
                column[i] = shellAverages[i * c + b];
            }

            power[b] = median ? QuantileOf(column, Quantile) / correction![b] : column.Sum() / tiles;
            if (!(power[b] > 0) || !double.IsFinite(power[b]))
            {
                throw new ArgumentException(
                    $"The micrograph's noise power at {0.5 * b / (c - 1):0.###} cycles/pixel measured {power[b]}: the image has no noise " +
                    "there (constant, or filtered to zero); a noise spectrum must be positive at every frequency.", nameof(image));
            }
        }

        if (c >= 3)
        {
            // The DC shell is one real value per tile, where particles and ice gradients gather: extrapolate it from samples 1
            // and 2 as an even function of f, S(f) ≈ a + b·f², clamped to at least half of sample 1.
            power[0] = Math.Max((4 * power[1] - power[2]) / 3, 0.5 * power[1]);
        }

        return new NoiseSpectrum(power, pixelSize, "estimated");
    }

    /// <summary>
    /// The median of a shell average of pure, locally white noise of variance 1, per shell: median(Γ(κ))/κ with κ the
    /// shell's effective number of independent values (see the class summary).
    /// </summary>
    public double[] MedianCorrection(int tile, int shells, double[]? window = null)
    {
        window ??= Window(tile);
        int t = tile;
        // a[d] = Σ_x w(x)² e^{−2πi d x/t}; Ŵ₂(dy, dx) = a[dy]·a[dx] for the separable window.
        var a2 = new double[t];
        for (int d = 0; d < t; d++)
        {
            Complex sum = 0;
            for (int x = 0; x < t; x++)
            {
                sum += window[x] * window[x] * Complex.FromPolarCoordinates(1, -2 * Math.PI * d * (long)x / t);
            }

            a2[d] = sum.Magnitude * sum.Magnitude;
        }

        var lags = Enumerable.Range(0, t).Where(d => a2[d] > 1e-20 * a2[0]).ToArray();
        var bins = new int[t * t];
        for (int y = 0; y < t; y++)
        {
            for (int x = 0; x < t; x++)
            {
                bins[y * t + x] = Bin(NoiseSpectrum.Frequency(y, t), NoiseSpectrum.Frequency(x, t), shells);
            }
        }

        var pixels = new double[shells];
        var pairs = new double[shells];
        for (int y = 0; y < t; y++)
        {
            for (int x = 0; x < t; x++)
            {
                int b = bins[y * t + x];
                if (b < 0)
                {
                    continue;
                }

                pixels[b]++;
                foreach (int dy in lags)
                {
                    int yy = (y - dy + t) % t;
                    foreach (int dx in lags)
                    {
                        if (bins[yy * t + (x - dx + t) % t] == b)
                        {
                            pairs[b] += a2[dy] * a2[dx];
                        }
                    }
                }
            }
        }

        var correction = new double[shells];
        double mean2 = a2[0] * a2[0];
        for (int b = 0; b < shells; b++)
        {
            double shape = mean2 * pixels[b] * pixels[b] / (2 * pairs[b]);
            correction[b] = GammaQuantile(shape, Quantile) / shape;
        }

        return correction;
    }

    /// <summary>The median of the Gamma law of shape <paramref name="shape"/> and scale 1.</summary>
    public static double GammaMedian(double shape) => GammaQuantile(shape, 0.5);

    /// <summary>The <paramref name="p"/>-quantile of the Gamma law of shape <paramref name="shape"/> and scale 1.</summary>
    public static double GammaQuantile(double shape, double p)
    {
        if (!(shape > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "The Gamma shape must be positive.");
        }

        double low = 0, high = shape + 10 * Math.Sqrt(shape) + 10;
        for (int i = 0; i < 200 && high - low > 1e-14 * high; i++)
        {
            double mid = 0.5 * (low + high);
            if (RegularizedGammaP(shape, mid) < p)
            {
                low = mid;
            }
            else
            {
                high = mid;
            }
        }

        return 0.5 * (low + high);
    }

    /// <summary>The shell of frequency (fy, fx) cycles/pixel among <paramref name="shells"/> samples; −1 beyond Nyquist.</summary>
    private static int Bin(double fy, double fx, int shells)
    {
        int b = (int)Math.Round(Math.Sqrt(fy * fy + fx * fx) * 2 * (shells - 1), MidpointRounding.AwayFromZero);
        return b < shells ? b : -1;
    }

    /// <summary>Shell and full-grid multiplicity (1 or 2: the Hermitian partner) of each entry of the t×(t/2+1) half spectrum.</summary>
    private static (int[] Bin, double[] Weight) HalfSpectrumBins(int t, int shells)
    {
        int half = t / 2 + 1;
        var bin = new int[t * half];
        var weight = new double[t * half];
        for (int y = 0; y < t; y++)
        {
            for (int x = 0; x < half; x++)
            {
                bin[y * half + x] = Bin(NoiseSpectrum.Frequency(y, t), x / (double)t, shells);
                weight[y * half + x] = x == 0 || 2 * x == t ? 1 : 2;
            }
        }

        return (bin, weight);
    }

    private double[] Window(int t)
    {
        var w = new double[t];
        for (int x = 0; x < t; x++)
        {
            double s = Math.Sin(Math.PI * (x + 0.5) / t);
            w[x] = Taper ? s * s : 1;
        }

        return w;
    }

    /// <summary>Tile origins along an axis of <paramref name="n"/> pixels, centred.</summary>
    private int[] Positions(int n, int t)
    {
        int step = Overlap ? Math.Max(1, t / 2) : t;
        int count = (n - t) / step + 1;
        int offset = (n - t - (count - 1) * step) / 2;
        return Enumerable.Range(0, count).Select(i => offset + i * step).ToArray();
    }

    /// <summary>The <paramref name="q"/>-quantile of the values (linear interpolation between order statistics; q = 0.5: the median).</summary>
    private static double QuantileOf(double[] values, double q)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        double position = q * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>P(a, x), the regularised lower incomplete Gamma function (series below a + 1, continued fraction above).</summary>
    private static double RegularizedGammaP(double a, double x)
    {
        if (x <= 0)
        {
            return 0;
        }

        double prefactor = Math.Exp(a * Math.Log(x) - x - LogGamma(a));
        if (x < a + 1)
        {
            double term = 1 / a, sum = term;
            for (int n = 1; n < 10000 && Math.Abs(term) > 1e-16 * Math.Abs(sum); n++)
            {
                term *= x / (a + n);
                sum += term;
            }

            return sum * prefactor;
        }

        // Lentz's continued fraction for Q(a, x).
        const double tiny = 1e-300;
        double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (int i = 1; i < 10000; i++)
        {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = b + an / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
            {
                break;
            }
        }

        return 1 - prefactor * h;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, 9 terms; relative error below 1e-14).</summary>
    private static double LogGamma(double x)
    {
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);
        }

        ReadOnlySpan<double> g = stackalloc double[]
        {
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        };
        x -= 1;
        double sum = g[0];
        for (int i = 1; i < 9; i++)
        {
            sum += g[i] / (x + i);
        }

        double tt = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(tt) - tt + Math.Log(sum);
    }
}
