using System.Numerics;
using CryoEmPS.Core.Native;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// Stage 2 of the forward model for a real micrograph: its CTF, divided by the square root of the noise spectrum it was
/// whitened with (if any), F(k) = CTF(k)/√PSD(k). <see cref="Apply"/> places the L×L projection in the middle of a P×P
/// zero-padded grid (P = the fast FFT size ≥ 2B, B = L + 2·margin), multiplies its DFT by F on that grid and keeps the
/// central B×B box. Signal the CTF delocalises beyond <see cref="Margin"/> pixels is cut off: that is the approximation of
/// the EM's padded box against the simulator, which filters the whole micrograph (measure it with a larger margin).
/// Immutable and thread-safe; two filters with equal CTF, whitening spectrum and margin are equal (one filter group).
/// </summary>
public sealed unsafe class MicrographFilter : IImageFilter, IEquatable<MicrographFilter>
{
    private readonly int _margin;
    private readonly Dictionary<int, Transfer> _transfers = new();

    /// <summary>
    /// A filter from <paramref name="ctf"/> (null: no CTF) and <paramref name="whitening"/> (null: not whitened), evaluated at
    /// <paramref name="pixelSize"/> Å/px (the patches' pixel size), with a box margin of <paramref name="margin"/> pixels.
    /// </summary>
    public MicrographFilter(Ctf? ctf, NoiseSpectrum? whitening, double pixelSize, int margin, double scale = 1)
    {
        if (ctf == null && whitening == null && scale == 1)
        {
            throw new ArgumentException("A micrograph filter needs a CTF, a whitening spectrum or a scale; use IdentityFilter for none.");
        }

        if (!(scale != 0) || !double.IsFinite(scale))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The signal scale must be finite and not 0.");
        }

        if (margin < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(margin), margin, "The filter margin must be 0 or more pixels.");
        }

        if (ctf != null && !(pixelSize > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(pixelSize), pixelSize,
                "A CTF needs the pixel size of the patches (Å/px) to turn pixels into spatial frequencies.");
        }

        Ctf = ctf?.WithPixelSize(pixelSize);
        Whitening = whitening;
        PixelSize = pixelSize;
        Scale = scale;
        _margin = margin;
    }

    /// <summary>The factor preprocessing multiplied the signal by (Simulation.Micrograph.SignalScale; 1 = none).</summary>
    public double Scale { get; }

    /// <summary>The CTF at the patches' pixel size (null: none).</summary>
    public Ctf? Ctf { get; }

    /// <summary>The noise spectrum the micrograph was divided by (√) to whiten it (null: not whitened).</summary>
    public NoiseSpectrum? Whitening { get; }

    public double PixelSize { get; }

    public string Name => (Ctf == null ? Whitening != null ? "whitening" : "" : $"CTF {Ctf.DefocusMean / 1e4:0.###} µm{(Whitening != null ? " / √PSD" : "")}")
        + (Scale != 1 ? $" × {Scale:g4}" : "");

    public bool IsIdentity => false;

    public int Margin(int imageSize) => _margin;

    /// <summary>The value of F at (<paramref name="fx"/>, <paramref name="fy"/>) cycles/pixel.</summary>
    public double Value(double fx, double fy)
    {
        double value = Scale * (Ctf?.Evaluate(fx / PixelSize, fy / PixelSize) ?? 1);
        return Whitening == null ? value : value / Math.Sqrt(Whitening.At(Math.Sqrt(fx * fx + fy * fy)));
    }

    public void Apply(ReadOnlySpan<double> image, int imageSize, Span<double> filtered)
    {
        int l = imageSize, box = l + 2 * _margin;
        if (image.Length < l * l || filtered.Length < box * box)
        {
            throw new ArgumentException($"Apply needs an L×L image ({l * l}) and a B×B box ({box * box}).");
        }

        Convolve(image, l, -_margin, filtered, box, imageSize);
    }

    /// <summary>
    /// The adjoint of <see cref="Apply"/>: a B×B box back to an L×L image, ⟨Apply(x), y⟩ = ⟨x, ApplyAdjoint(y)⟩. The box is
    /// placed where Apply cut it from the P×P grid, multiplied by the same transfer function (real and even, so its own
    /// adjoint in Fourier space) and the L×L window of the image is kept.
    /// </summary>
    public void ApplyAdjoint(ReadOnlySpan<double> box, int imageSize, Span<double> image)
    {
        int l = imageSize, side = l + 2 * _margin;
        if (box.Length < side * side || image.Length < l * l)
        {
            throw new ArgumentException($"ApplyAdjoint needs a B×B box ({side * side}) and an L×L image ({l * l}).");
        }

        Convolve(box, side, _margin, image, l, imageSize);
    }

    /// <summary>
    /// The one operation behind <see cref="Apply"/> and <see cref="ApplyAdjoint"/>: the <paramref name="inputSide"/>² input is
    /// placed in the zero P×P grid of L×L images (the L×L image's corner at ((P − L)/2, (P − L)/2)), multiplied by the transfer
    /// function in Fourier space, and the <paramref name="outputSide"/>² output is cut out <paramref name="shift"/> pixels
    /// further along each axis than the input's corner (−margin for Apply's box, +margin for the adjoint's image).
    /// </summary>
    private void Convolve(ReadOnlySpan<double> input, int inputSide, int shift, Span<double> output, int outputSide, int imageSize)
    {
        var transfer = TransferFor(imageSize);
        int p = transfer.Size, half = p / 2 + 1;
        // The input's corner: the L×L image's for Apply, the box's (margin before it) for the adjoint.
        int inputStart = (p - imageSize) / 2 - (inputSide - imageSize) / 2, outputStart = inputStart + shift;
        var real = Fftw.Alloc<double>((long)p * p);
        var spectrum = Fftw.Alloc<Complex>((long)p * half);
        try
        {
            new Span<double>(real, p * p).Clear();
            for (int y = 0; y < inputSide; y++)
            {
                input.Slice(y * inputSide, inputSide).CopyTo(new Span<double>(real + (long)(y + inputStart) * p + inputStart, inputSide));
            }

            transfer.Fft.Forward(real, spectrum);
            double scale = 1.0 / ((double)p * p);
            for (int i = 0; i < p * half; i++)
            {
                spectrum[i] *= transfer.Values[i] * scale;
            }

            transfer.Fft.Backward(spectrum, real);
            for (int y = 0; y < outputSide; y++)
            {
                new ReadOnlySpan<double>(real + (long)(y + outputStart) * p + outputStart, outputSide)
                    .CopyTo(output.Slice(y * outputSide, outputSide));
            }
        }
        finally
        {
            Fftw.Free((IntPtr)real);
            Fftw.Free((IntPtr)spectrum);
        }
    }

    /// <summary>The P×P grid side Apply uses for L×L images: the fast FFT size ≥ 2(L + 2·margin).</summary>
    public int GridSize(int imageSize) => ForwardModel.FastFftSize(2 * (imageSize + 2 * _margin));

    private Transfer TransferFor(int imageSize)
    {
        lock (_transfers)
        {
            if (!_transfers.TryGetValue(imageSize, out var transfer))
            {
                int p = GridSize(imageSize), half = p / 2 + 1;
                var values = new double[p * half];
                // A Nyquist index stands for +½ and −½ at once; an astigmatic CTF differs there, so take the mean over both:
                // the transfer is then even on the grid and the filter a symmetric operator (Apply and ApplyAdjoint agree).
                for (int y = 0; y < p; y++)
                {
                    double fy = NoiseSpectrum.Frequency(y, p);
                    for (int x = 0; x < half; x++)
                    {
                        double fx = x / (double)p;
                        bool nyquistX = 2 * x == p, nyquistY = 2 * y == p;
                        values[y * half + x] = !nyquistX && !nyquistY
                            ? Value(fx, fy)
                            : 0.25 * (Value(fx, fy) + Value(nyquistX ? -fx : fx, fy) + Value(fx, nyquistY ? -fy : fy)
                                + Value(nyquistX ? -fx : fx, nyquistY ? -fy : fy));
                    }
                }

                transfer = new Transfer(p, values, new RealFft2D(p, p, measure: false));
                _transfers[imageSize] = transfer;
            }

            return transfer;
        }
    }

    public bool Equals(MicrographFilter? other)
        => other is not null && _margin == other._margin && PixelSize == other.PixelSize && Scale == other.Scale && Equals(Ctf, other.Ctf)
            && Equals(Whitening, other.Whitening);

    public override bool Equals(object? obj) => Equals(obj as MicrographFilter);

    public override int GetHashCode() => HashCode.Combine(_margin, PixelSize, Scale, Ctf, Whitening);

    public override string ToString() => $"{Name}, margin {_margin} px";

    /// <summary>Every parameter at full precision (checkpoint keys compare it): equal signatures ⇔ equal filters.</summary>
    public string Signature
    {
        get
        {
            string ctf = Ctf == null ? "none" : string.Join(",", new[]
            {
                Ctf.DefocusU, Ctf.DefocusV, Ctf.DefocusAngle, Ctf.Voltage, Ctf.SphericalAberration, Ctf.AmplitudeContrast, Ctf.PhaseShift,
                Ctf.BFactor, Ctf.PixelSize,
            }.Select(value => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
            string whitening = Whitening == null
                ? "none"
                : string.Join(",", Whitening.Power.Select(value => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
            return $"ctf({ctf}) whitening({whitening}) scale {Scale.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} margin {_margin}";
        }
    }

    private sealed record Transfer(int Size, double[] Values, RealFft2D Fft);
}
