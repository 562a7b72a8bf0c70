namespace CryoEmPS.Core.Projection;

/// <summary>
/// A radially symmetric noise power spectrum: the expected |DFT|²/(number of pixels) of the noise at spatial frequency f, so
/// that white noise of variance σ² per pixel has the flat spectrum σ². Sampled at <see cref="Count"/> equally spaced
/// frequencies f_i = i·0.5/(Count − 1) cycles/pixel from 0 to Nyquist and interpolated linearly between them; beyond Nyquist
/// (the corners of a 2-D DFT, up to 0.5·√2) it holds the last value. Frequencies are relative to the pixel size of the image
/// the spectrum belongs to (<see cref="PixelSize"/>, Å, 0 = unknown). Immutable.
/// </summary>
public sealed class NoiseSpectrum : IEquatable<NoiseSpectrum>
{
    private readonly double[] _power;

    /// <summary>A spectrum from its samples (at least 2, each positive and finite).</summary>
    public NoiseSpectrum(IReadOnlyList<double> power, double pixelSize = 0, string? name = null)
    {
        if (power == null || power.Count < 2)
        {
            throw new ArgumentException("A noise spectrum needs at least 2 samples, from frequency 0 to Nyquist.", nameof(power));
        }

        for (int i = 0; i < power.Count; i++)
        {
            if (!(power[i] > 0) || !double.IsFinite(power[i]))
            {
                throw new ArgumentException($"Noise power must be positive and finite at every frequency; sample {i} is {power[i]}.",
                    nameof(power));
            }
        }

        _power = power.ToArray();
        PixelSize = double.IsFinite(pixelSize) && pixelSize > 0 ? pixelSize : 0;
        Name = string.IsNullOrEmpty(name) ? "radial" : name;
    }

    /// <summary>White noise of variance <paramref name="variance"/> per pixel.</summary>
    public static NoiseSpectrum White(double variance, double pixelSize = 0) => new(new[] { variance, variance }, pixelSize, "white");

    /// <summary>The names <see cref="Model"/> knows.</summary>
    public static readonly IReadOnlyList<string> ModelNames = new[] { "White", "Falloff", "Ice" };

    /// <summary>
    /// A named spectrum shape with <paramref name="count"/> samples (mean power about 1; the simulator scales it to its σ²):
    /// "White" flat; "Falloff" a detector-like decline 1 → 0.3 towards Nyquist, S(f) = 0.3 + 0.7·exp(−(f/0.25)²); "Ice" a
    /// low-frequency excess over a flat floor, S(f) = 1 + 3·exp(−(f/0.06)²).
    /// </summary>
    public static NoiseSpectrum Model(string name, int count = 65)
    {
        Func<double, double> shape = name.ToLowerInvariant() switch
        {
            "white" => _ => 1,
            "falloff" => f => 0.3 + 0.7 * Math.Exp(-(f / 0.25) * (f / 0.25)),
            "ice" => f => 1 + 3 * Math.Exp(-(f / 0.06) * (f / 0.06)),
            _ => throw new ArgumentException($"Unknown noise spectrum model '{name}'; known: {string.Join(", ", ModelNames)}.", nameof(name)),
        };
        var power = Enumerable.Range(0, count).Select(i => shape(0.5 * i / (count - 1))).ToArray();
        return new NoiseSpectrum(power, 0, ModelNames.First(known => string.Equals(known, name, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>The samples, from frequency 0 to Nyquist.</summary>
    public IReadOnlyList<double> Power => _power;

    public int Count => _power.Length;

    /// <summary>Å per pixel of the image whose frequencies the samples refer to (0 = unknown).</summary>
    public double PixelSize { get; }

    /// <summary>"white", the name of a model, "estimated" or "radial".</summary>
    public string Name { get; }

    /// <summary>The frequency of sample <paramref name="index"/>, cycles/pixel.</summary>
    public double Frequency(int index) => 0.5 * index / (_power.Length - 1);

    /// <summary>The power at <paramref name="cyclesPerPixel"/> (linear interpolation; the last sample beyond Nyquist).</summary>
    public double At(double cyclesPerPixel)
    {
        double position = Math.Abs(cyclesPerPixel) * 2 * (_power.Length - 1);
        if (position >= _power.Length - 1)
        {
            return _power[^1];
        }

        int i = (int)position;
        double t = position - i;
        return (1 - t) * _power[i] + t * _power[i + 1];
    }

    /// <summary>
    /// How far this spectrum is from <paramref name="reference"/> (e.g. an estimate against the simulator's): the root mean square
    /// over this spectrum's samples 1 … Nyquist of P(f)/P_ref(f) − 1, as a fraction (0.05 = 5 % RMS). Frequency 0 is left out:
    /// it is the mean, which the estimators remove.
    /// </summary>
    public double RelativeRmsError(NoiseSpectrum reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (_power.Length < 2)
        {
            return 0;
        }

        double sum = 0;
        for (int i = 1; i < _power.Length; i++)
        {
            double f = Frequency(i);
            double ratio = At(f) / reference.At(f) - 1;
            sum += ratio * ratio;
        }

        return Math.Sqrt(sum / (_power.Length - 1));
    }

    /// <summary>The mean power over the full DFT grid of an <paramref name="sizeY"/>×<paramref name="sizeX"/> image: the variance per pixel of such noise.</summary>
    public double Variance(int sizeY, int sizeX)
    {
        double sum = 0;
        for (int y = 0; y < sizeY; y++)
        {
            double fy = Frequency(y, sizeY);
            for (int x = 0; x < sizeX; x++)
            {
                double fx = Frequency(x, sizeX);
                sum += At(Math.Sqrt(fx * fx + fy * fy));
            }
        }

        return sum / ((double)sizeY * sizeX);
    }

    /// <summary>This spectrum times <paramref name="factor"/> (&gt; 0).</summary>
    public NoiseSpectrum Scaled(double factor) => new(_power.Select(p => p * factor).ToArray(), PixelSize, Name);

    /// <summary>True when every sample equals the first (white noise).</summary>
    public bool IsWhite => _power.All(p => p == _power[0]);

    /// <summary>The DFT frequency of index <paramref name="index"/> on an axis of <paramref name="size"/> samples, cycles/pixel.</summary>
    public static double Frequency(int index, int size) => (index <= size / 2 ? index : index - size) / (double)size;

    public bool Equals(NoiseSpectrum? other)
        => other is not null && PixelSize == other.PixelSize && _power.AsSpan().SequenceEqual(other._power);

    public override bool Equals(object? obj) => Equals(obj as NoiseSpectrum);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(PixelSize);
        foreach (double p in _power)
        {
            hash.Add(p);
        }

        return hash.ToHashCode();
    }

    public override string ToString()
        => IsWhite ? $"white noise spectrum σ² {_power[0]:g4}" : $"{Name} noise spectrum, {Count} samples, {_power[0]:g4} at 0 → {_power[^1]:g4} at Nyquist";
}
