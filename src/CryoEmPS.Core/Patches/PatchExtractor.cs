using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Core.Patches;

/// <summary>
/// Partitions micrographs into non-overlapping L×L patches (Section 3.1): floor(N_y/L)·floor(N_x/L)
/// patches per micrograph in row-major order, the remainder at the bottom and right cropped.
/// For micrographs with a truth, each patch is classified: Empty (no projection overlaps it),
/// Whole (exactly one overlaps it and lies wholly inside — for particle size = patch size, it sits
/// exactly on the patch), Partial (exactly one overlaps it, not wholly inside), Multiple (two or more).
/// </summary>
public static class PatchExtractor
{
    /// <summary>Patches per micrograph along y and x.</summary>
    public static (int Rows, int Columns) Grid(Micrograph micrograph, int patchSize)
        => (micrograph.SizeY / patchSize, micrograph.SizeX / patchSize);

    /// <summary>
    /// Extracts the patches of all <paramref name="micrographs"/> (micrograph index = position in the list)
    /// into one <see cref="PatchSet"/>. <paramref name="warnings"/> receives messages about cropped
    /// remainders and disagreeing noise variances.
    /// </summary>
    public static PatchSet Extract(IReadOnlyList<Micrograph> micrographs, int patchSize, Action<string>? warnings = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(micrographs);
        if (micrographs.Count == 0)
        {
            throw new ArgumentException("At least one micrograph is needed.", nameof(micrographs));
        }
        if (patchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(patchSize), $"The patch size must be positive; got {patchSize}.");
        }
        for (int i = 0; i < micrographs.Count; i++)
        {
            var micrograph = micrographs[i] ?? throw new ArgumentNullException(nameof(micrographs), $"Micrograph {i} is null.");
            if (patchSize > micrograph.SizeY || patchSize > micrograph.SizeX)
            {
                throw new PatchSizeTooLargeException(patchSize, micrograph, i);
            }
        }

        long total = 0;
        for (int i = 0; i < micrographs.Count; i++)
        {
            var micrograph = micrographs[i];
            var (rows, columns) = Grid(micrograph, patchSize);
            total += (long)rows * columns;
            if (micrograph.SizeY % patchSize != 0 || micrograph.SizeX % patchSize != 0)
            {
                warnings?.Invoke($"Micrograph {i}{Named(micrograph)} is {micrograph.SizeY}x{micrograph.SizeX}, " +
                    $"not a multiple of the patch size {patchSize}: the last {micrograph.SizeY % patchSize} row(s) " +
                    $"and {micrograph.SizeX % patchSize} column(s) are cropped ({rows}x{columns} patches kept).");
            }
        }
        int l2 = patchSize * patchSize;
        if (total * l2 > int.MaxValue)
        {
            throw new ArgumentException($"{total} patches of {patchSize}² pixels do not fit in one array; use fewer micrographs.");
        }

        var data = new double[total * l2];
        var origins = new PatchOrigin[total];
        var content = new PatchContent[total];
        int nextPatch = 0;
        for (int i = 0; i < micrographs.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var micrograph = micrographs[i];
            var (rows, columns) = Grid(micrograph, patchSize);
            int firstPatch = nextPatch;
            Parallel.For(0, rows, new ParallelOptions { CancellationToken = cancellationToken }, patchRow =>
            {
                for (int patchColumn = 0; patchColumn < columns; patchColumn++)
                {
                    int q = firstPatch + patchRow * columns + patchColumn;
                    origins[q] = new PatchOrigin(i, patchRow * patchSize, patchColumn * patchSize);
                    for (int y = 0; y < patchSize; y++)
                    {
                        micrograph.Data.AsSpan((patchRow * patchSize + y) * micrograph.SizeX + patchColumn * patchSize, patchSize)
                            .CopyTo(data.AsSpan(q * l2 + y * patchSize, patchSize));
                    }
                }
            });
            if (micrograph.Truth != null)
            {
                Classify(micrograph.Truth, patchSize, rows, columns, content.AsSpan(firstPatch, rows * columns));
            }
            nextPatch += rows * columns;
        }

        // σ²: the common value, NaN when unknown anywhere or when they disagree.
        double noiseVariance = micrographs[0].NoiseVariance;
        bool unknown = micrographs.Any(micrograph => double.IsNaN(micrograph.NoiseVariance));
        bool disagree = !unknown && micrographs.Any(micrograph =>
            Math.Abs(micrograph.NoiseVariance - noiseVariance)
                > 1e-12 * Math.Max(Math.Abs(noiseVariance), Math.Abs(micrograph.NoiseVariance)));
        if (disagree)
        {
            var values = string.Join(", ", micrographs.Select(micrograph => micrograph.NoiseVariance.ToString("g4")).Distinct().Take(5));
            warnings?.Invoke($"The micrographs carry different noise variances ({values}); the patch set's NoiseVariance is NaN. " +
                $"Give Invoke-ApproxEm the noise variance explicitly, or build one patch set per noise level.");
        }
        double commonNoiseVariance = unknown || disagree ? double.NaN : noiseVariance;
        return new PatchSet(patchSize, data, origins, content, commonNoiseVariance,
            micrographs.Select(micrograph => micrograph.Name).ToArray(), CommonPixelSize(micrographs, warnings))
        {
            Ctfs = micrographs.Any(micrograph => micrograph.Ctf != null)
                ? micrographs.Select(micrograph => micrograph.Ctf).ToArray()
                : Array.Empty<Ctf?>(),
            Whitenings = micrographs.Any(micrograph => micrograph.Whitening != null)
                ? micrographs.Select(micrograph => micrograph.Whitening).ToArray()
                : Array.Empty<NoiseSpectrum?>(),
            SignalScales = micrographs.Any(micrograph => micrograph.SignalScale != 1)
                ? micrographs.Select(micrograph => micrograph.SignalScale).ToArray()
                : Array.Empty<double>(),
            RankShare = micrographs[0].RankShare,
        };
    }

    /// <summary>The micrographs' common pixel size in Å; 0 (with a warning) when they disagree, 0 when any is unknown.</summary>
    private static double CommonPixelSize(IReadOnlyList<Micrograph> micrographs, Action<string>? warnings)
    {
        double first = micrographs[0].PixelSize;
        if (micrographs.Any(micrograph => !(micrograph.PixelSize > 0)))
        {
            return 0;
        }
        if (micrographs.Any(micrograph => Math.Abs(micrograph.PixelSize - first) > 1e-6 * first))
        {
            var values = string.Join(", ", micrographs.Select(micrograph => micrograph.PixelSize.ToString("0.###")).Distinct().Take(5));
            warnings?.Invoke($"The micrographs have different pixel sizes ({values} Å); the patch set's PixelSize is 0 (unknown). " +
                $"Build one patch set per pixel size.");
            return 0;
        }
        return first;
    }

    /// <summary>Classifies the gr×gc patches of one micrograph from its truth (row-major into <paramref name="content"/>).</summary>
    public static void Classify(MicrographTruth truth, int patchSize, int gr, int gc, Span<PatchContent> content)
    {
        ArgumentNullException.ThrowIfNull(truth);
        int particleSize = truth.ParticleSize;
        var count = new int[gr * gc];
        var whole = new bool[gr * gc];
        foreach (var particle in truth.Particles)
        {
            // Patches overlapped by the box [Row, Row + ps) × [Column, Column + ps).
            int r0 = FloorDiv(particle.Row, patchSize), r1 = FloorDiv(particle.Row + particleSize - 1, patchSize);
            int c0 = FloorDiv(particle.Column, patchSize), c1 = FloorDiv(particle.Column + particleSize - 1, patchSize);
            for (int r = Math.Max(0, r0); r <= Math.Min(gr - 1, r1); r++)
            {
                for (int c = Math.Max(0, c0); c <= Math.Min(gc - 1, c1); c++)
                {
                    int q = r * gc + c;
                    count[q]++;
                    whole[q] = r0 == r1 && c0 == c1;
                }
            }
        }
        for (int q = 0; q < count.Length; q++)
        {
            content[q] = count[q] switch
            {
                0 => PatchContent.Empty,
                1 => whole[q] ? PatchContent.Whole : PatchContent.Partial,
                _ => PatchContent.Multiple,
            };
        }
    }

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private static string Named(Micrograph micrograph) => string.IsNullOrEmpty(micrograph.Name) ? "" : $" ('{micrograph.Name}')";
}

/// <summary>The patch size exceeds a micrograph's side.</summary>
public sealed class PatchSizeTooLargeException : ArgumentException
{
    public PatchSizeTooLargeException(int patchSize, Micrograph micrograph, int index)
        : base($"The patch size {patchSize} is larger than micrograph {index} ({micrograph.SizeY}x{micrograph.SizeX}). " +
               $"Give a patch size no larger than {Math.Min(micrograph.SizeY, micrograph.SizeX)} — normally the particle size L.",
               "patchSize")
    {
    }
}
