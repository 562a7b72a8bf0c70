using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Volumes;

/// <summary>
/// An anisotropic 3-D Gaussian A·exp(−½ (r − μ)ᵀ Σ⁻¹ (r − μ)), coordinates in pixels relative to the grid
/// origin (index floor(L/2)), r = (x, y, z). Its rotations and line integrals are known in closed form, which
/// makes it the reference for projector tests.
/// </summary>
public sealed class GaussianBlob
{
    private readonly double[,] _cov;
    private readonly double[,] _prec;

    /// <param name="center">μ = (x, y, z) in pixels from the grid origin.</param>
    /// <param name="covariance">Σ, symmetric positive definite 3×3 (pixels²), indices (x, y, z).</param>
    /// <param name="amplitude">A, the peak value.</param>
    public GaussianBlob((double X, double Y, double Z) center, double[,] covariance, double amplitude)
    {
        if (covariance.GetLength(0) != 3 || covariance.GetLength(1) != 3) throw new ArgumentException("The covariance must be 3×3.", nameof(covariance));
        Center = center; Amplitude = amplitude;
        _cov = (double[,])covariance.Clone();
        _prec = Inverse3(_cov, out double det);
        if (!(det > 0)) throw new ArgumentException("The covariance must be positive definite.", nameof(covariance));
        Determinant = det;
    }

    /// <summary>A blob with principal standard deviations <paramref name="sigma"/> along the columns of <paramref name="axes"/>.</summary>
    public static GaussianBlob FromAxes((double X, double Y, double Z) center, Rotation axes, (double A, double B, double C) sigma, double amplitude)
    {
        var s = new[] { sigma.A * sigma.A, sigma.B * sigma.B, sigma.C * sigma.C };
        var cov = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 3; k++) cov[i, j] += axes[i, k] * s[k] * axes[j, k];
        return new GaussianBlob(center, cov, amplitude);
    }

    public (double X, double Y, double Z) Center { get; }
    public double Amplitude { get; }
    public double Determinant { get; }
    public double[,] Covariance => (double[,])_cov.Clone();
    /// <summary>The integral of the blob over all space, A (2π)^{3/2} √det Σ.</summary>
    public double Mass => Amplitude * Math.Pow(2 * Math.PI, 1.5) * Math.Sqrt(Determinant);
    /// <summary>The smallest principal standard deviation (pixels).</summary>
    public double MinSigma
    {
        get
        {
            var e = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(_cov).Evd().EigenValues;
            return Math.Sqrt(e.Min(v => v.Real));
        }
    }

    /// <summary>The value at (x, y, z).</summary>
    public double Evaluate(double x, double y, double z)
    {
        double dx = x - Center.X, dy = y - Center.Y, dz = z - Center.Z;
        double q = _prec[0, 0] * dx * dx + _prec[1, 1] * dy * dy + _prec[2, 2] * dz * dz
                 + 2 * (_prec[0, 1] * dx * dy + _prec[0, 2] * dx * dz + _prec[1, 2] * dy * dz);
        return Amplitude * Math.Exp(-0.5 * q);
    }

    /// <summary>The rotated blob f_R(r) = f(Rᵀ r): centre R μ, covariance R Σ Rᵀ.</summary>
    public GaussianBlob Rotate(Rotation r)
    {
        var c = r.Apply(Center.X, Center.Y, Center.Z);
        var cov = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double s = 0;
                for (int k = 0; k < 3; k++)
                    for (int m = 0; m < 3; m++) s += r[i, k] * _cov[k, m] * r[j, m];
                cov[i, j] = s;
            }
        return new GaussianBlob(c, cov, Amplitude);
    }

    /// <summary>
    /// The exact line integral ∫ f_R(x, y, z) dz at (x, y): a 2-D Gaussian with the x,y block S of R Σ Rᵀ,
    /// A √(2π det Σ / det S) exp(−½ dᵀ S⁻¹ d).
    /// </summary>
    public double ProjectAt(Rotation r, double x, double y) => Rotate(r).LineIntegralZ(x, y);

    /// <summary>The exact line integral ∫ f(x, y, z) dz of this (unrotated) blob.</summary>
    public double LineIntegralZ(double x, double y)
    {
        var b = this;
        double sxx = b._cov[0, 0], sxy = b._cov[0, 1], syy = b._cov[1, 1];
        double detS = sxx * syy - sxy * sxy;
        double dx = x - b.Center.X, dy = y - b.Center.Y;
        double q = (syy * dx * dx - 2 * sxy * dx * dy + sxx * dy * dy) / detS;
        return Amplitude * Math.Sqrt(2 * Math.PI * Determinant / detS) * Math.Exp(-0.5 * q);
    }

    private static double[,] Inverse3(double[,] m, out double det)
    {
        double a = m[0, 0], b = m[0, 1], c = m[0, 2], d = m[1, 0], e = m[1, 1], f = m[1, 2], g = m[2, 0], h = m[2, 1], i = m[2, 2];
        double A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
        det = a * A + b * B + c * C;
        var inv = new double[3, 3];
        inv[0, 0] = A / det; inv[0, 1] = -(b * i - c * h) / det; inv[0, 2] = (b * f - c * e) / det;
        inv[1, 0] = B / det; inv[1, 1] = (a * i - c * g) / det; inv[1, 2] = -(a * f - c * d) / det;
        inv[2, 0] = C / det; inv[2, 1] = -(a * h - b * g) / det; inv[2, 2] = (a * e - b * d) / det;
        return inv;
    }
}

/// <summary>
/// A built-in, deterministic test density shaped like a small protein: a seeded sum of anisotropic Gaussian blobs in
/// <see cref="DomainCount"/> domains. Each domain is one wide core blob (principal widths 1.2–1.5, 1.2–1.5 and 1.4–1.9 px)
/// and <see cref="DetailBlobsPerDomain"/> narrow, elongated detail blobs (0.8–1.0, 0.8–1.0 and 1.1–1.7 px, like helices)
/// within 2 px of the domain centre; domain centres lie within 3.2 px of the origin and at least 2.4 px apart (when 64
/// tries allow). Detail at the two scales gives it power up to Nyquist (about 10⁻⁵ of the zero-frequency power at shell 8,
/// close to a real protein map at 6 Å/px), and it is compact: every blob satisfies |μ| + 2.5·σ_max ≤
/// <see cref="CompactRadius"/> = 7 px (1 px inside the inscribed ball at L = 17; drawn again up to 32 times, then moved
/// towards the origin), so its own Fourier–Bessel expansion at L = 17 follows it to Nyquist (FSC 0.5 crossing at shell 8 for
/// ℓmax 6, 10 and 14; the fuzzy ellipsoid this replaced stopped at shell 5.46). The molecule is drawn at L = 17 and scaled
/// with L (positions and widths × L/17), except that no principal width drops below <see cref="MinimumSigma"/>. Non-negative;
/// generic random positions and orientations make it asymmetric.
/// </summary>
public static class Phantom
{
    /// <summary>The seed of the default phantom (New-EmVolume -Phantom without -Seed).</summary>
    public const int DefaultSeed = 1;
    /// <summary>The number of domains.</summary>
    public const int DomainCount = 4;
    /// <summary>The number of narrow detail blobs around each domain's core blob.</summary>
    public const int DetailBlobsPerDomain = 5;
    /// <summary>The number of blobs: one core and <see cref="DetailBlobsPerDomain"/> detail blobs per domain.</summary>
    public const int BlobCount = DomainCount * (1 + DetailBlobsPerDomain);
    /// <summary>The smallest principal width (pixels) at any L.</summary>
    public const double MinimumSigma = 0.8;
    /// <summary>At L = 17 every blob has |μ| + 2.5·σ_max ≤ this radius (pixels); scaled with L like the molecule.</summary>
    public const double CompactRadius = 7.0;

    private const double DomainRadius = 3.2;
    private const double DomainSeparation = 2.4;
    private const double DetailSpread = 2.0;
    private const double TailWidths = 2.5;

    /// <summary>
    /// The blobs of the phantom of side <paramref name="size"/> made from <paramref name="seed"/>: domain by domain, core first.
    /// </summary>
    public static IReadOnlyList<GaussianBlob> Blobs(int size, int seed = DefaultSeed)
    {
        if (size < 5)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"A phantom needs a side of at least 5 voxels; got {size}.");
        }
        var rng = new Numerics.SeededRandom(seed);
        double Uniform(double low, double high) => low + (high - low) * rng.NextDouble();
        (double X, double Y, double Z) InBall(double radius)
        {
            double x, y, z;
            do
            {
                x = 2 * rng.NextDouble() - 1;
                y = 2 * rng.NextDouble() - 1;
                z = 2 * rng.NextDouble() - 1;
            }
            while (x * x + y * y + z * z > 1);
            return (radius * x, radius * y, radius * z);
        }

        // Everything is drawn at L = 17 (pixels), then scaled, so the same seed gives the same molecule at every L.
        double scale = size / 17.0;
        var blobs = new List<GaussianBlob>(BlobCount);
        var domains = new List<(double X, double Y, double Z)>(DomainCount);
        for (int d = 0; d < DomainCount; d++)
        {
            var centre = InBall(DomainRadius);
            for (int attempt = 1; attempt < 64 && domains.Any(other => Distance(centre, other) < DomainSeparation); attempt++)
            {
                centre = InBall(DomainRadius);
            }
            domains.Add(centre);
            var coreAxes = UniformRotation.Draw(rng);
            var coreSigma = (Uniform(1.2, 1.5), Uniform(1.2, 1.5), Uniform(1.4, 1.9));
            double coreAmplitude = Uniform(0.3, 0.5);
            blobs.Add(Scaled(Compact(centre, coreSigma.Item3), coreAxes, coreSigma, coreAmplitude, scale));
            for (int k = 0; k < DetailBlobsPerDomain; k++)
            {
                var axes = UniformRotation.Draw(rng);
                var sigma = (Uniform(0.8, 1.0), Uniform(0.8, 1.0), Uniform(1.1, 1.7));
                double amplitude = Uniform(0.6, 1.2);
                (double X, double Y, double Z) position = default;
                for (int attempt = 0; attempt < 32; attempt++)
                {
                    var offset = InBall(DetailSpread);
                    position = (centre.X + offset.X, centre.Y + offset.Y, centre.Z + offset.Z);
                    if (Norm(position) + TailWidths * sigma.Item3 <= CompactRadius)
                    {
                        break;
                    }
                }
                blobs.Add(Scaled(Compact(position, sigma.Item3), axes, sigma, amplitude, scale));
            }
        }
        return blobs;
    }

    private static double Norm((double X, double Y, double Z) p) => Math.Sqrt(p.X * p.X + p.Y * p.Y + p.Z * p.Z);

    private static double Distance((double X, double Y, double Z) a, (double X, double Y, double Z) b)
        => Norm((a.X - b.X, a.Y - b.Y, a.Z - b.Z));

    /// <summary>The centre moved towards the origin just enough that |μ| + 2.5·σ_max ≤ <see cref="CompactRadius"/> (at L = 17).</summary>
    private static (double X, double Y, double Z) Compact((double X, double Y, double Z) centre, double longestSigma)
    {
        double radius = Norm(centre), limit = Math.Max(0, CompactRadius - TailWidths * longestSigma);
        if (radius <= limit)
        {
            return centre;
        }
        double shrink = limit / radius;
        return (centre.X * shrink, centre.Y * shrink, centre.Z * shrink);
    }

    private static GaussianBlob Scaled((double X, double Y, double Z) centre, Rotation axes, (double A, double B, double C) sigma,
        double amplitude, double scale)
    {
        double Width(double value) => Math.Max(MinimumSigma, value * scale);
        return GaussianBlob.FromAxes((centre.X * scale, centre.Y * scale, centre.Z * scale), axes,
            (Width(sigma.A), Width(sigma.B), Width(sigma.C)), amplitude);
    }

    /// <summary>The phantom volume (name "phantom") of side <paramref name="size"/>.</summary>
    public static Volume Create(int size, int seed = DefaultSeed, double voxelSize = 0)
        => Render(Blobs(size, seed), size, voxelSize, "phantom");

    /// <summary>Samples a sum of blobs at the voxel centres of an L³ grid (origin floor(L/2)).</summary>
    public static Volume Render(IReadOnlyList<GaussianBlob> blobs, int size, double voxelSize = 0, string? name = null)
    {
        var v = new Volume(size, voxelSize: voxelSize, name: name);
        int c = size / 2;
        Parallel.For(0, size, z =>
        {
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    double s = 0;
                    foreach (var b in blobs) s += b.Evaluate(x - c, y - c, z - c);
                    v[z, y, x] = s;
                }
        });
        return v;
    }

    /// <summary>The exact projection I_R(x, y) = ∫ f(Rᵀ(x, y, z)) dz of a blob sum, sampled at the L×L pixel centres.</summary>
    public static double[] ProjectAnalytic(IReadOnlyList<GaussianBlob> blobs, Rotation rotation, int size)
    {
        var img = new double[size * size];
        int c = size / 2;
        foreach (var b in blobs)
        {
            var rb = b.Rotate(rotation);
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                    img[y * size + x] += rb.LineIntegralZ(x - c, y - c);
        }
        return img;
    }
}
