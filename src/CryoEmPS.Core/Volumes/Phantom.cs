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
/// A built-in, deterministic, molecule-like test density: a seeded sum of anisotropic Gaussian blobs with
/// random orientations inside the inscribed ball. The molecule is defined at L = 17 and scaled with L
/// (positions and widths × L/17), except that no principal width drops below 1.5 px, so the volume stays
/// close to bandlimited at Nyquist (a σ = 1.5 px Gaussian has spectrum e^{−2π²σ²ξ²} ≈ 1.5·10⁻⁵ at ξ = 1/2).
/// Principal widths 1.5–1.9, 1.5–1.9 and 2.0–2.8 px (elongated) and centres within 3.4 px of the origin at L = 17. Non-negative; peak amplitudes in [0.5, 1.5]. Generic random positions make it asymmetric.
/// </summary>
public static class Phantom
{
    /// <summary>The seed of the default phantom (New-EmVolume -Phantom without -Seed).</summary>
    public const int DefaultSeed = 1;
    /// <summary>The number of blobs.</summary>
    public const int BlobCount = 12;
    /// <summary>The smallest principal width (pixels).</summary>
    public const double MinimumSigma = 1.5;

    /// <summary>The blobs of the phantom of side <paramref name="size"/> made from <paramref name="seed"/>.</summary>
    public static IReadOnlyList<GaussianBlob> Blobs(int size, int seed = DefaultSeed)
    {
        if (size < 5) throw new ArgumentOutOfRangeException(nameof(size), $"A phantom needs a side of at least 5 voxels; got {size}.");
        var rng = new Numerics.SeededRandom(seed);
        double scale = size / 17.0;
        var blobs = new List<GaussianBlob>(BlobCount);
        for (int i = 0; i < BlobCount; i++)
        {
            // Centre uniform in the ball of radius 3.4 px at L = 17 (less than half the inscribed radius).
            double cx, cy, cz;
            do { cx = 2 * rng.NextDouble() - 1; cy = 2 * rng.NextDouble() - 1; cz = 2 * rng.NextDouble() - 1; }
            while (cx * cx + cy * cy + cz * cz > 1);
            double rad = 3.4 * scale;
            var axes = UniformRotation.Draw(rng);
            double S() => Math.Max(MinimumSigma, (1.5 + 0.4 * rng.NextDouble()) * scale);
            double longAxis = Math.Max(MinimumSigma, (2.0 + 0.8 * rng.NextDouble()) * scale);
            var sig = (S(), S(), longAxis); // elongated blobs make every orientation distinct
            double amp = 0.5 + rng.NextDouble();
            blobs.Add(GaussianBlob.FromAxes((cx * rad, cy * rad, cz * rad), axes, sig, amp));
        }
        return blobs;
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
