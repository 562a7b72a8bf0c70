using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// The observation model of the paper (eqs. 3, 18–19), written once as named stages that the simulator and the EM share:
/// <code>
///   volume ─▶ 1 projection P_ω at rotation ω
///               (<see cref="Project(ILinearProjectionModel, IReadOnlyList{Rotation}, ReadOnlySpan{double}, int, CancellationToken)"/>,
///               <see cref="IProjector"/>)
///          ─▶ 2 image filter F_g of the micrograph  (<see cref="Filter"/>; <see cref="IdentityFilter"/> today, the CTF next)
///          ─▶ 3 placement at a shift in a padded box (<see cref="Place"/>; box side <see cref="BoxSize"/> = L + 2·margin)
///          ─▶ 4 crop to the L×L patch               (Patches.PatchOperator; in the E-step one FFT correlation per pair)
///          ─▶ 5 noise                                (<see cref="WhiteGaussianNoise"/>)
/// </code>
/// Micrographs are put in <em>filter groups</em>: micrographs whose filters are equal share one group, so the E-step filters
/// each rotation's projection once per group, not once per micrograph (RELION's defocus groups). With identity filters
/// there is exactly one group.
/// <para>
/// The geometry follows from the filter, not from a fixed 2L: a filtered projection occupies a box of side
/// B = L + 2·max margin, a patch sees it at the lags d ∈ {−(L−1)..B−1}² (<see cref="LagsPerAxis"/> = B + L − 1 per axis), and
/// the linear correlations need an FFT of side M ≥ B + L − 1 (<see cref="MinimumFftSize"/>). For the identity, B = L and
/// these are the paper's (2L−1)² lags and M ≥ 2L − 1.
/// </para>
/// </summary>
public sealed class ForwardModel
{
    private readonly IImageFilter[] _filters;
    private readonly int[] _groupOfMicrograph;

    /// <summary>
    /// A forward model for L×L projections and patches. <paramref name="micrographFilters"/> gives each micrograph's filter
    /// (by micrograph index, as in Patches.PatchOrigin.Micrograph); null or empty = the identity for every micrograph.
    /// </summary>
    public ForwardModel(int imageSize, IReadOnlyList<IImageFilter>? micrographFilters = null)
    {
        if (imageSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "The projection side L must be at least 1.");
        }

        ImageSize = imageSize;
        var filters = new List<IImageFilter>();
        var groupOf = new int[micrographFilters?.Count ?? 0];
        for (int micrograph = 0; micrograph < groupOf.Length; micrograph++)
        {
            var filter = micrographFilters![micrograph]
                ?? throw new ArgumentNullException(nameof(micrographFilters), $"Micrograph {micrograph} has no filter.");
            int group = filters.FindIndex(f => f.Equals(filter));
            if (group < 0)
            {
                group = filters.Count;
                filters.Add(filter);
            }

            groupOf[micrograph] = group;
        }

        if (filters.Count == 0)
        {
            filters.Add(IdentityFilter.Instance);
        }

        _filters = filters.ToArray();
        _groupOfMicrograph = groupOf;
        Margin = _filters.Max(f => f.Margin(imageSize));
        if (Margin < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(micrographFilters), "A filter's margin must be 0 or more.");
        }
    }

    /// <summary>L: the side of a projection and of a patch.</summary>
    public int ImageSize { get; }

    /// <summary>The largest margin of any group's filter (0 for the identity).</summary>
    public int Margin { get; }

    /// <summary>B = L + 2·<see cref="Margin"/>: the side of the box a filtered projection occupies.</summary>
    public int BoxSize => ImageSize + 2 * Margin;

    /// <summary>B + L − 1: the lags per axis at which a patch overlaps the filtered projection (2L − 1 for the identity).</summary>
    public int LagsPerAxis => BoxSize + ImageSize - 1;

    /// <summary>The smallest FFT side whose circular correlations equal the linear ones at every lag: B + L − 1.</summary>
    public int MinimumFftSize => LagsPerAxis;

    /// <summary>The filter groups' filters, in order of first appearance among the micrographs.</summary>
    public IReadOnlyList<IImageFilter> Filters => _filters;

    public int GroupCount => _filters.Length;

    /// <summary>True when every group's filter is the identity (then there is one group and B = L).</summary>
    public bool IsUnfiltered => _filters.All(f => f.IsIdentity);

    /// <summary>The micrographs given a filter (0: the identity for every micrograph).</summary>
    public int MicrographCount => _groupOfMicrograph.Length;

    /// <summary>
    /// The filter group of micrograph <paramref name="micrograph"/> (micrographs without a filter of their own: group 0).
    /// </summary>
    public int GroupOf(int micrograph) => micrograph >= 0 && micrograph < _groupOfMicrograph.Length ? _groupOfMicrograph[micrograph] : 0;

    /// <summary>
    /// The FFT side for the correlations: <paramref name="requested"/> when it is positive (it must be at least
    /// <see cref="MinimumFftSize"/>), else the fastest size ≥ <see cref="MinimumFftSize"/> (<see cref="FastFftSize"/>).
    /// </summary>
    public int FftSize(int requested = 0)
    {
        if (requested <= 0)
        {
            return FastFftSize(MinimumFftSize);
        }

        if (requested < MinimumFftSize)
        {
            throw new ArgumentOutOfRangeException(nameof(requested), requested,
                $"The FFT size {requested} is below B + L − 1 = {MinimumFftSize}.");
        }

        return requested;
    }

    /// <summary>
    /// The smallest even M ≥ <paramref name="minimum"/> whose prime factors are 2, 3 and 5 (the lane FFT has radix-2, 3, 4, 5
    /// and 9 passes; L = 17 gives 36 rather than 34: see benchmarks/README.md). Any M ≥ the minimum gives the same correlations.
    /// </summary>
    public static int FastFftSize(int minimum)
    {
        for (int m = Math.Max(2, minimum); ; m++)
        {
            if ((m & 1) != 0)
            {
                continue;
            }

            int rest = m;
            foreach (int prime in new[] { 2, 3, 5 })
            {
                while (rest % prime == 0)
                {
                    rest /= prime;
                }
            }

            if (rest == 1)
            {
                return m;
            }
        }
    }

    /// <summary>
    /// Stage 1 for a linear model: the projections B(ω)x of every rotation, [rotation, y, x] — one batched product when the
    /// model offers it (<see cref="IBatchProjectionModel"/>), else B(ω) row by row. Thread-count independent.
    /// </summary>
    public static double[] Project(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x, int threads,
        CancellationToken token)
    {
        int pixels = model.ImageSize * model.ImageSize, parameters = model.ParameterCount, count = rotations.Count;
        var images = new double[(long)count * pixels];
        if (model is IBatchProjectionModel batch)
        {
            batch.Project(x, rotations, images);
            return images;
        }

        var coefficients = x.ToArray();
        ParallelLoop.For(count, threads, () => new double[pixels * parameters], (matrix, r) =>
        {
            model.ProjectionMatrix(rotations[r], matrix);
            var image = images.AsSpan(r * pixels, pixels);
            for (int i = 0; i < pixels; i++)
            {
                double sum = 0;
                for (int c = 0; c < parameters; c++)
                {
                    sum += matrix[i * parameters + c] * coefficients[c];
                }

                image[i] = sum;
            }
        }, _ => { }, token);
        return images;
    }

    /// <summary>
    /// Stage 2: the <paramref name="count"/> L×L images of <paramref name="images"/> through group <paramref name="group"/>'s
    /// filter, each into a B×B box ([image, y, x]). For the identity filter (B = L) the input array itself is returned.
    /// </summary>
    public double[] Filter(int group, double[] images, int count, int threads = 0)
    {
        var filter = _filters[group];
        int pixels = ImageSize * ImageSize;
        if (filter.IsIdentity && Margin == 0)
        {
            return images;
        }

        int box = BoxSize, boxPixels = box * box, margin = filter.Margin(ImageSize), inner = ImageSize + 2 * margin;
        var filtered = new double[(long)count * boxPixels];
        // Each image on its own (filters are thread-safe): the result does not depend on the thread count.
        ParallelLoop.For(count, threads > 0 ? threads : Environment.ProcessorCount, () => new double[inner * inner], (scratch, k) =>
        {
            filter.Apply(images.AsSpan(k * pixels, pixels), ImageSize, scratch);
            // A filter with a smaller margin than the box's sits centred in the box.
            int offset = Margin - margin;
            for (int y = 0; y < inner; y++)
            {
                scratch.AsSpan(y * inner, inner).CopyTo(filtered.AsSpan(k * boxPixels + (y + offset) * box + offset, inner));
            }
        }, _ => { }, CancellationToken.None);

        return filtered;
    }

    /// <summary>
    /// <see cref="FilterColumns"/> of a matrix that does not change (the factored model's G), kept per matrix and group for
    /// this forward model's lifetime: every M-step of a run filters the same G, once.
    /// </summary>
    public double[] FilterColumnsCached(int group, double[] matrix, int columns)
    {
        var perGroup = _filteredColumns.GetValue(matrix, _ => new double[]?[_filters.Length]);
        lock (perGroup)
        {
            return perGroup[group] ??= FilterColumns(group, matrix, columns);
        }
    }

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<double[], double[]?[]> _filteredColumns = new();

    /// <summary>
    /// Stage 2 on the columns of a linear operator: <paramref name="matrix"/> is L²×<paramref name="columns"/> row-major (each
    /// column an L×L image, as B_ω or the factored model's G); returns F_g·matrix, B²×<paramref name="columns"/> row-major.
    /// </summary>
    public double[] FilterColumns(int group, ReadOnlySpan<double> matrix, int columns)
    {
        int pixels = ImageSize * ImageSize, boxPixels = BoxSize * BoxSize;
        var images = new double[(long)columns * pixels];
        for (int i = 0; i < pixels; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                images[(long)j * pixels + i] = matrix[i * columns + j];
            }
        }

        var filtered = Filter(group, images, columns);
        var result = new double[(long)boxPixels * columns];
        for (int j = 0; j < columns; j++)
        {
            for (int i = 0; i < boxPixels; i++)
            {
                result[(long)i * columns + j] = filtered[(long)j * boxPixels + i];
            }
        }

        return result;
    }

    /// <summary>
    /// Stage 3 for a micrograph: adds the <paramref name="side"/>×<paramref name="side"/> image to the canvas
    /// (<paramref name="width"/> pixels per row) with its top-left pixel at (<paramref name="row"/>, <paramref name="column"/>).
    /// The image must lie inside the canvas. Sums run row by row in pixel order.
    /// </summary>
    public static void Place(ReadOnlySpan<double> image, int side, Span<double> canvas, int width, int row, int column)
    {
        for (int y = 0; y < side; y++)
        {
            var destination = canvas.Slice((int)((long)(row + y) * width + column), side);
            var source = image.Slice(y * side, side);
            for (int x = 0; x < side; x++)
            {
                destination[x] += source[x];
            }
        }
    }
}
