using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The oracle-pose least-squares fit (issue 11, item 6): with the TRUE rotation and position of every particle of simulated
/// micrographs (<see cref="Micrograph.Truth"/>), the Fourier–Bessel coefficients x at ℓmax that minimise
/// Σ_t ‖M_t (box_t − B_{ω_t} x)‖², where box_t is the L×L block of the (noisy) micrograph whose top-left corner is particle
/// t's recorded corner and M_t masks the pixels of that block that lie inside the micrograph. It is the best any EM without a
/// prior can do from the same data: the poses are known, so what is left is the noise and the model's own ceiling.
/// <para>
/// It reuses the M-step (<see cref="MStep.Build"/>, <see cref="MStep.Solve"/>) with one "rotation" per particle: m_t = the 0/1
/// mask of the box and b_t = the masked box, so C = Σ_t B_tᵀ diag(m_t) B_t and y = Σ_t B_tᵀ b_t are exactly the oracle normal
/// equations. The placement convention is the simulator's (Method 2: the projection, on its L×L grid with origin floor(L/2),
/// is added with its top-left pixel at the recorded (row, column)); for a Method 1 micrograph the recorded corner is the
/// delivered one, which carries up to half a pixel of rounding.
/// </para>
/// </summary>
public static class OraclePoseFit
{
    /// <summary>The oracle normal equations C, y at <paramref name="ellMax"/> from every particle of the micrographs.</summary>
    public static NormalEquations Build(IReadOnlyList<Micrograph> micrographs, int ellMax, int threads = 0,
        CancellationToken token = default)
    {
        var (model, rotations, statistics) = Statistics(micrographs, ellMax, null);
        return MStep.Build(model, rotations, statistics, threads, token);
    }

    /// <summary>
    /// The oracle-pose fit at <paramref name="ellMax"/>: the least-squares coefficients (name "oracle ℓmax N", the voxel size
    /// of the first micrograph), with the solve's details in <paramref name="solution"/>. With <paramref name="grid"/> each
    /// particle's true rotation is replaced by the nearest rotation of the grid (<see cref="Nearest"/>; name "oracle ℓmax N on
    /// K rotations"): the best an EM that searches that grid can do, since its rotations can be no closer to the truth.
    /// </summary>
    public static FourierBesselVolume Fit(IReadOnlyList<Micrograph> micrographs, int ellMax, out MStepSolution solution, int threads = 0,
        CancellationToken token = default, RotationSet? grid = null)
    {
        var (model, rotations, statistics) = Statistics(micrographs, ellMax, grid);
        solution = MStep.Solve(MStep.Build(model, rotations, statistics, threads, token));
        string name = grid == null ? $"oracle ℓmax {ellMax}" : $"oracle ℓmax {ellMax} on {grid.Count} rotations";
        return new FourierBesselVolume(model.Basis, solution.Coefficients, micrographs[0].PixelSize, name);
    }

    /// <summary>The rotation of <paramref name="grid"/> closest to <paramref name="rotation"/> (the smallest rotation angle between them).</summary>
    public static Rotation Nearest(RotationSet grid, Rotation rotation)
    {
        ArgumentNullException.ThrowIfNull(grid);
        Rotation best = grid.Rotations[0];
        double smallest = double.PositiveInfinity;
        foreach (var candidate in grid.Rotations)
        {
            double angle = RotationGrid.Distance(candidate, rotation);
            if (angle < smallest)
            {
                smallest = angle;
                best = candidate;
            }
        }

        return best;
    }

    /// <summary>The oracle-pose fit at <paramref name="ellMax"/> (see the other overload).</summary>
    public static FourierBesselVolume Fit(IReadOnlyList<Micrograph> micrographs, int ellMax, int threads = 0,
        CancellationToken token = default)
        => Fit(micrographs, ellMax, out _, threads, token);

    /// <summary>The particle side L shared by the micrographs' truths; throws when a micrograph has no truth or the sides differ.</summary>
    public static int ParticleSize(IReadOnlyList<Micrograph> micrographs)
    {
        ArgumentNullException.ThrowIfNull(micrographs);
        if (micrographs.Count == 0)
        {
            throw new ArgumentException("The oracle-pose fit needs at least one micrograph.", nameof(micrographs));
        }
        int size = 0;
        foreach (var micrograph in micrographs)
        {
            ArgumentNullException.ThrowIfNull(micrograph, nameof(micrographs));
            if (micrograph.Truth == null)
            {
                throw new ArgumentException($"{Describe(micrograph)} carries no truth (the particles' poses): the oracle-pose fit " +
                    "needs a micrograph simulated by New-Micrograph, not an imported one.", nameof(micrographs));
            }
            int l = micrograph.Truth.ParticleSize;
            if (size != 0 && l != size)
            {
                throw new ArgumentException($"The micrographs hold particles of different sizes ({size} and {l} px); give micrographs " +
                    "of one particle size.", nameof(micrographs));
            }
            size = l;
        }
        return size;
    }

    /// <summary>The model, one rotation per particle, and the statistics (m_t, b_t) the M-step takes.</summary>
    internal static (FourierBesselModel Model, Rotation[] Rotations, EStepResult Statistics) Statistics(
        IReadOnlyList<Micrograph> micrographs, int ellMax, RotationSet? grid)
    {
        int l = ParticleSize(micrographs);
        var model = FourierBesselModel.Get(l, ellMax);
        int count = micrographs.Sum(m => m.Truth!.Particles.Length);
        if (count == 0)
        {
            throw new ArgumentException("The micrographs hold no particles, so there is nothing to fit.", nameof(micrographs));
        }
        int l2 = l * l;
        var rotations = new Rotation[count];
        var back = new double[(long)count * l2];
        var weight = new double[(long)count * l2];
        int t = 0;
        foreach (var micrograph in micrographs)
        {
            foreach (var particle in micrograph.Truth!.Particles)
            {
                rotations[t] = grid == null ? particle.Rotation : Nearest(grid, particle.Rotation);
                for (int i = 0; i < l; i++)
                {
                    int row = particle.Row + i;
                    if (row < 0 || row >= micrograph.SizeY)
                    {
                        continue;
                    }
                    for (int j = 0; j < l; j++)
                    {
                        int column = particle.Column + j;
                        if (column < 0 || column >= micrograph.SizeX)
                        {
                            continue;
                        }
                        long pixel = (long)t * l2 + i * l + j;
                        weight[pixel] = 1;
                        back[pixel] = micrograph[row, column];
                    }
                }
                t++;
            }
        }
        var patches = Enumerable.Range(0, count).ToArray();
        // Every "patch" is a particle at its true pose: none is empty.
        var statistics = new EStepResult(l, count, patches, new double[count], 0, back, weight, Array.Empty<double>(), count, 0)
        {
            PatchEmptyPosterior = new double[count],
        };
        return (model, rotations, statistics);
    }

    private static string Describe(Micrograph micrograph)
        => string.IsNullOrEmpty(micrograph.Name)
            ? $"A {micrograph.SizeY}×{micrograph.SizeX} micrograph"
            : $"Micrograph '{micrograph.Name}'";
}
