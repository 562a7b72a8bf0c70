using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The blur a discrete rotation grid imposes on a reconstruction: a particle whose true rotation lies between grid points is
/// reconstructed at a grid point θ away. For an isotropic error the average of the Wigner-D matrices is g_ℓ·I with
/// g_ℓ = E[χ_ℓ(θ)]/(2ℓ+1), χ_ℓ(θ) = sin((2ℓ+1)θ/2)/sin(θ/2) the character of a rotation by θ: degree ℓ of every shell is
/// attenuated by g_ℓ. θ here is the angle from a uniformly random rotation to its nearest grid rotation (a fixed seeded sample,
/// so the result is a pure function of the grid).
/// </summary>
public static class GridBlur
{
    /// <summary>Random rotations drawn to estimate E[χ_ℓ(θ)].</summary>
    private const int Samples = 2000;

    /// <summary>g_ℓ for ℓ = 0..<paramref name="ellMax"/> of the grid <paramref name="grid"/>.</summary>
    public static double[] Attenuation(IReadOnlyList<Rotation> grid, int ellMax)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var g = new double[ellMax + 1];
        if (grid.Count == 0)
        {
            return g;
        }

        var random = new SeededRandom(20261202);
        for (int sample = 0; sample < Samples; sample++)
        {
            var r = UniformRotation.Draw(random);
            double best = double.NegativeInfinity;
            foreach (var q in grid)
            {
                double trace = 0;
                for (int i = 0; i < 3; i++)
                {
                    for (int j = 0; j < 3; j++)
                    {
                        trace += r[i, j] * q[i, j];
                    }
                }

                best = Math.Max(best, trace);
            }

            double theta = Math.Acos(Math.Clamp((best - 1) / 2, -1, 1));
            for (int ell = 0; ell <= ellMax; ell++)
            {
                g[ell] += theta < 1e-12 ? 1 : Math.Sin((2 * ell + 1) * theta / 2) / ((2 * ell + 1) * Math.Sin(theta / 2));
            }
        }

        for (int ell = 0; ell <= ellMax; ell++)
        {
            g[ell] /= Samples;
        }

        return g;
    }
}
