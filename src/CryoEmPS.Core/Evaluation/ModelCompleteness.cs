using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Evaluation;

/// <summary>
/// How much of each Fourier shell a Fourier–Bessel expansion truncated at ℓmax can hold, estimated without the truth.
/// <para>
/// On the Fourier shell of radius ρ (cycles/pixel) the transform of a density f has the angular expansion
/// F(ρ, ω̂) = Σ_ℓm a_ℓm(ρ) Y_ℓm(ω̂), and the plane wave e^{−2πiξ·r} = 4π Σ_ℓ (−i)^ℓ j_ℓ(2πρr) Σ_m Y_ℓm(ξ̂) Y_ℓm(r̂). For a density
/// whose fluctuation is uncorrelated from voxel to voxel with variance w(r) at radius r (the model of a map's fine detail), the
/// expected angular power of that shell at degree ℓ is ∝ (2ℓ+1) ∫ j_ℓ(2πρr)² w(r) r² dr, and Σ_ℓ (2ℓ+1) j_ℓ(x)² = 1. The
/// fraction an expansion with ℓ ≤ ℓmax keeps is therefore
///   c(ρ) = Σ_{ℓ ≤ ℓmax} (2ℓ+1) ∫ j_ℓ(2πρr)² w(r) r² dr / ∫ w(r) r² dr,
/// and √c(ρ) is the FSC between such a density and its own expansion at shell ρ: the model's ceiling. A map's half-map FSC
/// measures how reproducible its expansion is, not how much of the structure the expansion misses; with the estimate
/// FSC_true(ρ) ≈ √(2F/(1+F)) · √c(ρ) (Rosenthal &amp; Henderson's C_ref times the ceiling) the half-map FSC F becomes a
/// resolution estimate comparable with an FSC against the truth at 0.5.
/// </para>
/// <para>w(r) is taken from the map itself: the spherical mean of (f − mean f)² over the voxels at radius r (r ≤ L/2).</para>
/// </summary>
public static class ModelCompleteness
{
    /// <summary>Quadrature points per pixel of radius.</summary>
    private const int PointsPerPixel = 16;

    /// <summary>c(ρ) for shells k = 0..⌊L/2⌋ (ρ = k/L) of an expansion at <paramref name="ellMax"/> of a density with radial
    /// fluctuation profile <paramref name="radialVariance"/>[i] at radius i pixels (linear in between).</summary>
    public static double[] Curve(int size, int ellMax, double[] radialVariance) => Ceiling(size, ellMax, radialVariance, null)
        .Select(c => c * c).ToArray();

    /// <summary>
    /// The expected FSC between a density of radial fluctuation profile <paramref name="radialVariance"/> and its expansion at
    /// <paramref name="ellMax"/> whose degree ℓ is attenuated by <paramref name="attenuation"/>[ℓ] (null: by nothing), shells
    /// 0..⌊L/2⌋: with P_ℓ the share of the shell's power at degree ℓ, Σ_{ℓ≤ℓmax} g_ℓ P_ℓ / √(Σ_{ℓ≤ℓmax} g_ℓ² P_ℓ).
    /// </summary>
    public static double[] Ceiling(int size, int ellMax, double[] radialVariance, double[]? attenuation)
    {
        ArgumentNullException.ThrowIfNull(radialVariance);
        if (radialVariance.Length < 2 || radialVariance.Any(w => !(w >= 0) || double.IsInfinity(w)))
        {
            throw new ArgumentException("The radial profile needs at least two non-negative finite values.", nameof(radialVariance));
        }

        int shells = size / 2 + 1;
        double rMax = radialVariance.Length - 1;
        int points = (int)Math.Ceiling(rMax * PointsPerPixel);
        double h = rMax / points;
        var radius = new double[points + 1];
        var weight = new double[points + 1];
        double total = 0;
        for (int i = 0; i <= points; i++)
        {
            double r = i * h;
            int j = Math.Min((int)r, radialVariance.Length - 2);
            double t = r - j;
            double w = (1 - t) * radialVariance[j] + t * radialVariance[j + 1];
            double simpson = i == 0 || i == points ? 1 : i % 2 == 1 ? 4 : 2;
            radius[i] = r;
            weight[i] = simpson * h / 3 * w * r * r;
            total += weight[i];
        }

        var curve = new double[shells];
        if (!(total > 0))
        {
            Array.Fill(curve, 1.0);
            return curve;
        }

        for (int k = 0; k < shells; k++)
        {
            double rho = (double)k / size, kept = 0, kept2 = 0;
            for (int i = 0; i <= points; i++)
            {
                double x = 2 * Math.PI * rho * radius[i], sum = 0, sum2 = 0;
                for (int ell = 0; ell <= ellMax; ell++)
                {
                    double j = SphericalBessel.SphericalJ(ell, x), g = attenuation == null ? 1 : attenuation[ell];
                    sum += g * (2 * ell + 1) * j * j;
                    sum2 += g * g * (2 * ell + 1) * j * j;
                }

                kept += weight[i] * sum;
                kept2 += weight[i] * sum2;
            }

            curve[k] = kept2 > 0 ? Math.Clamp(kept / total / Math.Sqrt(kept2 / total), 0, 1) : 0;
        }

        return curve;
    }

    /// <summary>The spherical mean of (f − mean f)² at radius 0, 1, …, ⌊L/2⌋ pixels from the centre (⌊L/2⌋ on each axis).</summary>
    public static double[] RadialVariance(Volume volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        int n = volume.Size, c = n / 2, rMax = n / 2;
        double mean = volume.Mean();
        var sum = new double[rMax + 1];
        var count = new double[rMax + 1];
        for (int z = 0; z < n; z++)
        {
            for (int y = 0; y < n; y++)
            {
                for (int x = 0; x < n; x++)
                {
                    double r = Math.Sqrt((double)(z - c) * (z - c) + (y - c) * (y - c) + (x - c) * (x - c));
                    int i = (int)Math.Round(r);
                    if (i > rMax)
                    {
                        continue;
                    }

                    double d = volume[z, y, x] - mean;
                    sum[i] += d * d;
                    count[i]++;
                }
            }
        }

        return sum.Select((s, i) => count[i] > 0 ? s / count[i] : 0).ToArray();
    }
}
