using CryoEmPS.Core.Volumes;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Tests;

/// <summary>The forward model's stages and geometry, and the priors as the E-step consumes them, against direct computations.</summary>
public class ForwardModelTests
{
    /// <summary>
    /// A test filter with margin 1: each pixel keeps <c>centre</c> of itself and gives a quarter of the rest to each of its 4
    /// neighbours (a linear blur; the default keeps a third).
    /// </summary>
    private sealed class BlurFilter : IImageFilter
    {
        private readonly double _centre;

        public BlurFilter(double centre = 1.0 / 3)
        {
            _centre = centre;
        }

        public string Name => "blur";
        public bool IsIdentity => false;
        public int Margin(int imageSize) => 1;

        public void Apply(ReadOnlySpan<double> image, int imageSize, Span<double> filtered)
        {
            int box = imageSize + 2;
            filtered[..(box * box)].Clear();
            for (int y = 0; y < imageSize; y++)
            {
                for (int x = 0; x < imageSize; x++)
                {
                    double a = image[y * imageSize + x], side = a * (1 - _centre) / 4;
                    filtered[(y + 1) * box + x + 1] += a * _centre;
                    filtered[y * box + x + 1] += side;
                    filtered[(y + 2) * box + x + 1] += side;
                    filtered[(y + 1) * box + x] += side;
                    filtered[(y + 1) * box + x + 2] += side;
                }
            }
        }

        public override bool Equals(object? obj) => obj is BlurFilter other && other._centre == _centre;
        public override int GetHashCode() => _centre.GetHashCode();
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(17)]
    public void UnfilteredGeometryIsThePapers(int l)
    {
        var forward = new ForwardModel(l);
        Assert.True(forward.IsUnfiltered);
        Assert.Equal(1, forward.GroupCount);
        Assert.Equal(l, forward.BoxSize);
        Assert.Equal(2 * l - 1, forward.LagsPerAxis);
        Assert.Equal(2 * l - 1, forward.MinimumFftSize);
        Assert.Equal(ShiftPrior.FastFftSize(l), forward.FftSize());
        Assert.Equal(40, forward.FftSize(40));
        Assert.Throws<ArgumentOutOfRangeException>(() => forward.FftSize(2 * l - 2));
    }

    [Fact]
    public void FastFftSizeIsTheSmallestEvenFiveSmoothSize()
    {
        for (int minimum = 1; minimum < 200; minimum++)
        {
            int m = ForwardModel.FastFftSize(minimum);
            Assert.True(m >= minimum && m % 2 == 0);
            int rest = m;
            foreach (int p in new[] { 2, 3, 5 })
            {
                while (rest % p == 0)
                {
                    rest /= p;
                }
            }

            Assert.Equal(1, rest);
            for (int smaller = Math.Max(2, minimum); smaller < m; smaller++)
            {
                int r = smaller;
                foreach (int p in new[] { 2, 3, 5 })
                {
                    while (r % p == 0)
                    {
                        r /= p;
                    }
                }

                Assert.False(r == 1 && smaller % 2 == 0, $"{smaller} is even and 5-smooth, below {m}");
            }
        }

        Assert.Equal(36, ForwardModel.FastFftSize(33));
    }

    [Fact]
    public void EqualFiltersShareAGroupAndTheBoxGrowsByTheMargin()
    {
        var blur = new BlurFilter();
        var forward = new ForwardModel(7, new IImageFilter[] { IdentityFilter.Instance, blur, new BlurFilter(), IdentityFilter.Instance });
        Assert.Equal(2, forward.GroupCount);
        Assert.Equal(new[] { 0, 1, 1, 0 }, Enumerable.Range(0, 4).Select(forward.GroupOf).ToArray());
        Assert.Equal(0, forward.GroupOf(99));                  // a micrograph without a filter of its own
        Assert.False(forward.IsUnfiltered);
        Assert.Equal(9, forward.BoxSize);                       // L + 2·margin
        Assert.Equal(9 + 7 - 1, forward.LagsPerAxis);           // B + L − 1
        Assert.Equal(15, forward.MinimumFftSize);
    }

    [Fact]
    public void FilterStageIsTheIdentityWithoutAFilterAndCentresAFilteredImage()
    {
        int l = 5, count = 3;
        var rng = new Random(3);
        var images = Enumerable.Range(0, count * l * l).Select(_ => rng.NextDouble()).ToArray();
        var plain = new ForwardModel(l);
        Assert.Same(images, plain.Filter(0, images, count));

        var forward = new ForwardModel(l, new IImageFilter[] { IdentityFilter.Instance, new BlurFilter() });
        int box = forward.BoxSize;
        var identity = forward.Filter(0, images, count);       // identity in a box of side 7: the image at offset (1, 1)
        var blurred = forward.Filter(1, images, count);
        for (int k = 0; k < count; k++)
        {
            double sumImage = 0, sumBlurred = 0;
            for (int y = 0; y < l; y++)
            {
                for (int x = 0; x < l; x++)
                {
                    Assert.Equal(images[k * l * l + y * l + x], identity[k * box * box + (y + 1) * box + x + 1]);
                    sumImage += images[k * l * l + y * l + x];
                }
            }

            for (int i = 0; i < box * box; i++)
            {
                sumBlurred += blurred[k * box * box + i];
            }

            Assert.Equal(sumImage, sumBlurred, 12);              // the blur keeps the mass
            Assert.Equal(images[k * l * l] / 3, blurred[k * box * box + box + 1] - images[k * l * l + 1] / 6 - images[k * l * l + l] / 6, 12);
        }
    }

    [Fact]
    public void PlaceAddsTheImageAtItsCorner()
    {
        int side = 3, width = 8, height = 6;
        var image = Enumerable.Range(1, side * side).Select(i => (double)i).ToArray();
        var canvas = Enumerable.Repeat(0.5, width * height).ToArray();
        ForwardModel.Place(image, side, canvas, width, 2, 4);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bool inside = y >= 2 && y < 5 && x >= 4 && x < 7;
                double expected = 0.5 + (inside ? image[(y - 2) * side + x - 4] : 0);
                Assert.Equal(expected, canvas[y * width + x]);
            }
        }
    }

    [Fact]
    public void WhiteNoiseStageIsBoxMullerPerRowBlockAndItsNormalizerIsTheGaussians()
    {
        int width = 10, rows = 7, rowsPerBlock = 3;
        var clean = Enumerable.Range(0, width * rows).Select(i => 0.01 * i).ToArray();
        var noisy = new double[clean.Length];
        var noise = new WhiteGaussianNoise(2.5);
        double squares = noise.AddTo(clean, noisy, width, rowsPerBlock, block => 100 + block, default);
        double expectedSquares = 0;
        for (int block = 0; block < 3; block++)
        {
            var g = new SeededRandom(100 + block);
            int start = block * rowsPerBlock * width, end = Math.Min((block + 1) * rowsPerBlock, rows) * width;
            for (int i = start; i < end; i += 2)
            {
                double u1 = 1.0 - g.NextDouble(), u2 = g.NextDouble();
                double r = Math.Sqrt(-2.0 * Math.Log(u1));
                double e1 = Math.Sqrt(2.5) * r * Math.Cos(2 * Math.PI * u2), e2 = Math.Sqrt(2.5) * r * Math.Sin(2 * Math.PI * u2);
                Assert.Equal(clean[i] + e1, noisy[i]);
                expectedSquares += e1 * e1;
                if (i + 1 < end)
                {
                    Assert.Equal(clean[i + 1] + e2, noisy[i + 1]);
                    expectedSquares += e2 * e2;
                }
            }
        }

        Assert.Equal(expectedSquares, squares, 10);
        Assert.Equal(-0.5 * 49 * Math.Log(2 * Math.PI * 2.5), noise.LogNormalizer(7), 12);
    }

    /// <summary>
    /// A non-uniform shift prior and rotation prior enter the E-step as log-weights: the patch log-likelihoods, the empty
    /// posterior and the posterior shift weights W[s,ω] equal the direct sums over the brute-force-checked log N table.
    /// </summary>
    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    public void NonUniformPriorsMatchTheDirectSum(int l)
    {
        int n = 6, k = 4, p = 6;
        var model = new RandomDenseModel(l, n, seed: l + 1);
        var rot = EmData.Rotations(k, 20 + l);
        var (patches, _) = EmData.Make(model, rot, EmData.RandomVector(n, 0.6, 3), p, sigma: 0.7, emptyFraction: 0.3, seed: 5);
        var x = EmData.RandomVector(n, 0.5, 6);
        double s2 = 0.8, v = 0.3;
        var forward = new ForwardModel(l);
        int lags = forward.LagsPerAxis, lags2 = lags * lags;
        var rng = new Random(9);
        var lagWeights = Enumerable.Range(0, lags2).Select(i => i % 5 == 0 ? 0.0 : rng.NextDouble()).ToArray();
        var rotationWeights = new[] { 0.1, 0.4, 0.2, 0.3 };
        var shiftPrior = new ShiftPrior(forward, v, lagWeights);
        var rotationPrior = new RotationPrior(rotationWeights);
        var minibatch = Enumerable.Range(0, p).ToArray();
        var table = EStep.LogLikelihoodTable(model, rot, x, patches, minibatch, s2);
        var e = EStep.Run(forward, model, rot, x, patches, minibatch, s2, shiftPrior, rotationPrior,
            new EStepOptions { Threads = 2, Precision = EStepPrecision.Double });

        double lagTotal = lagWeights.Sum();
        var expectedWeights = new double[k * lags2];
        double emptySum = 0;
        for (int q = 0; q < p; q++)
        {
            double norm2 = 0;
            foreach (var a in patches.Patch(q))
            {
                norm2 += a * a;
            }

            double logEmpty = Math.Log(v) - 0.5 * l * l * Math.Log(2 * Math.PI * s2) - norm2 / (2 * s2);
            var terms = new List<double> { logEmpty };
            for (int w = 0; w < k; w++)
            {
                for (int d = 0; d < lags2; d++)
                {
                    double rho = (1 - v) * lagWeights[d] / lagTotal;
                    terms.Add(rho > 0 ? Math.Log(rho) + Math.Log(rotationWeights[w]) + table[(q * k + w) * lags2 + d] : double.NegativeInfinity);
                }
            }

            double max = terms.Max();
            double ll = max + Math.Log(terms.Sum(t => Math.Exp(t - max)));
            Assert.Equal(ll, e.PatchLogLikelihood[q], 9);
            emptySum += Math.Exp(logEmpty - ll);
            // Each patch's own posterior probability of being empty, v·N(I; 0, σ²I)/p(I).
            Assert.Equal(Math.Exp(logEmpty - ll), e.PatchEmptyPosterior[q], 12);
            for (int w = 0; w < k; w++)
            {
                for (int d = 0; d < lags2; d++)
                {
                    expectedWeights[w * lags2 + d] += Math.Exp(terms[1 + w * lags2 + d] - ll);
                }
            }
        }

        Assert.Equal(emptySum / p, e.EmptyPosterior, 12);
        for (int i = 0; i < expectedWeights.Length; i++)
        {
            Assert.True(Math.Abs(expectedWeights[i] - e.ShiftWeight[i]) <= 1e-10, $"W[{i}]: {expectedWeights[i]:R} vs {e.ShiftWeight[i]:R}");
        }

        // The prior's M-step: v from the posteriors, the relative lag weights kept as they are.
        var next = shiftPrior.Updated(e);
        Assert.Equal(e.EmptyPosterior, next.EmptyProbability);
        Assert.Equal(shiftPrior.LagLogWeights, next.LagLogWeights);

        // Lags of weight 0 never receive posterior mass.
        for (int w = 0; w < k; w++)
        {
            for (int d = 0; d < lags2; d += 5)
            {
                Assert.Equal(0.0, e.ShiftWeight[w * lags2 + d]);
            }
        }
    }

    [Fact]
    public void PriorsAndFiltersRefuseBadInput()
    {
        var forward = new ForwardModel(5);
        int lags2 = forward.LagsPerAxis * forward.LagsPerAxis;
        Assert.Throws<ArgumentException>(() => new ShiftPrior(forward, 0.5, new double[lags2 - 1]));
        Assert.Throws<ArgumentException>(() => new ShiftPrior(forward, 0.5, new double[lags2]));
        var negative = Enumerable.Repeat(1.0, lags2).ToArray();
        negative[3] = -1;
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShiftPrior(forward, 0.5, negative));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShiftPrior(forward, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShiftPrior(forward, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotationPrior(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotationPrior(new[] { 1.0, double.PositiveInfinity }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotationPrior(new[] { 1.0, double.NaN }));
        Assert.Throws<ArgumentException>(() => new RotationPrior(new[] { 0.0, 0.0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ForwardModel(0));
        Assert.Throws<ArgumentNullException>(() => new ForwardModel(5, new IImageFilter[] { null! }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WhiteGaussianNoise(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WhiteGaussianNoise(double.PositiveInfinity));
        Assert.Equal(Math.Log(0.25), new RotationPrior(new[] { 1.0, 3.0 }).LogWeight(0), 15);
        Assert.Equal(-Math.Log(7), new RotationPrior(7).LogWeight(3));
    }

    [Fact]
    public void UniformPriorsGiveTheSameBitsAsThePaperEStep()
    {
        int l = 6, n = 5, k = 3, p = 5;
        var model = new RandomDenseModel(l, n, seed: 2);
        var rot = EmData.Rotations(k, 4);
        var (patches, _) = EmData.Make(model, rot, EmData.RandomVector(n, 0.6, 3), p, sigma: 0.7, emptyFraction: 0.3, seed: 5);
        var x = EmData.RandomVector(n, 0.5, 6);
        var minibatch = Enumerable.Range(0, p).ToArray();
        var forward = new ForwardModel(l);
        var options = new EStepOptions { Threads = 1, Precision = EStepPrecision.Double };
        var paper = EStep.Run(model, rot, x, patches, minibatch, 0.8, 0.3, options);
        var explicitPriors = EStep.Run(forward, model, rot, x, patches, minibatch, 0.8, new ShiftPrior(forward, 0.3), new RotationPrior(k), options);
        Assert.Equal(paper.PatchLogLikelihood, explicitPriors.PatchLogLikelihood);
        Assert.Equal(paper.BackProjection, explicitPriors.BackProjection);
        Assert.Equal(paper.PixelWeight, explicitPriors.PixelWeight);
        Assert.Equal(paper.EmptyPosterior, explicitPriors.EmptyPosterior);
        var updated = new ShiftPrior(forward, 0.3).Updated(paper);
        Assert.Equal(paper.EmptyPosterior, updated.EmptyProbability);
        Assert.Equal(ShiftPrior.LagProbability(l, 0.3), new ShiftPrior(forward, 0.3).LagWeight);
    }

    /// <summary>
    /// With a filter of margin 1 the E-step works on (L+2)×(L+2) boxes and (2L+1)² lags: every patch log-likelihood, the
    /// empty posterior and the statistics W[s,ω], b_ω and m_ω equal explicit sums over crop_d(F B_ω x).
    /// </summary>
    [Theory]
    [InlineData(4, 0)]
    [InlineData(5, 0)]
    [InlineData(5, 18)]
    public void FilteredEStepMatchesExplicitSums(int l, int fftSize)
    {
        int n = 5, k = 3, p = 5;
        var model = new RandomDenseModel(l, n, seed: 3 + l);
        var rot = EmData.Rotations(k, 30 + l);
        var (patches, _) = EmData.Make(model, rot, EmData.RandomVector(n, 0.6, 3), p, sigma: 0.7, emptyFraction: 0.3, seed: 7);
        var x = EmData.RandomVector(n, 0.5, 8);
        double s2 = 0.6, v = 0.25;
        var blur = new BlurFilter();
        var forward = new ForwardModel(l, new IImageFilter[] { blur });
        var minibatch = Enumerable.Range(0, p).ToArray();
        var e = EStep.Run(forward, model, rot, x, patches, minibatch, s2, new ShiftPrior(forward, v), new RotationPrior(k),
            new EStepOptions { Threads = 2, FftSize = fftSize, Precision = EStepPrecision.Double });
        Assert.Equal(forward.BoxSize, e.BoxSize);
        Assert.True(e.Filtered);
        Assert.Single(e.Groups);

        var expected = ExplicitEStep(model, rot, x, patches, minibatch, q => blur, forward, s2, v);
        AssertMatches(expected, e);
        // The M-step of the filtered model: C = Σ w (crop F B_ω)ᵀ(crop F B_ω) and y = Σ w (crop F B_ω)ᵀ I, summed explicitly.
        var equations = MStep.Build(model, rot, e, 2, default, forward);
        AssertClose(expected.C, equations.Matrix, "C");
        AssertClose(expected.Y, equations.RightHandSide, "y");
        // Without the forward model it refuses these statistics rather than misuse them.
        Assert.Throws<ArgumentException>(() => MStep.Build(model, rot, e));
    }

    /// <summary>
    /// Two micrographs with different filters form two filter groups: each group's patches are scored against that group's
    /// filtered projections; the merged result has every patch's log-likelihood in minibatch order, and each group's
    /// statistics equal the explicit sums over that group's patches.
    /// </summary>
    [Fact]
    public void EachFilterGroupIsScoredThroughItsOwnFilter()
    {
        int l = 5, n = 5, k = 3, p = 8;
        var model = new RandomDenseModel(l, n, seed: 11);
        var rot = EmData.Rotations(k, 12);
        var (made, _) = EmData.Make(model, rot, EmData.RandomVector(n, 0.6, 3), p, sigma: 0.7, emptyFraction: 0.25, seed: 9);
        // Patches 0, 2, 4, ... from micrograph 0, the others from micrograph 1.
        var origins = Enumerable.Range(0, p).Select(q => new PatchOrigin(q % 2, q * l, 0)).ToArray();
        var patches = new PatchSet(l, made.Data, origins, null, 0.49, new[] { "a", "b" });
        var x = EmData.RandomVector(n, 0.5, 8);
        double s2 = 0.6, v = 0.25;
        var filters = new IImageFilter[] { new BlurFilter(0.5), new BlurFilter(0.2) };
        var forward = new ForwardModel(l, filters);
        Assert.Equal(2, forward.GroupCount);
        var minibatch = new[] { 0, 1, 2, 3, 5, 6, 7 };
        var e = EStep.Run(forward, model, rot, x, patches, minibatch, s2, new ShiftPrior(forward, v), new RotationPrior(k),
            new EStepOptions { Threads = 2, Precision = EStepPrecision.Double });
        Assert.Equal(minibatch, e.Patches);
        Assert.Equal(2, e.Groups.Count);
        Assert.Equal(new[] { 0, 2, 6 }, e.Groups[0].Patches);
        Assert.Equal(new[] { 1, 3, 5, 7 }, e.Groups[1].Patches);
        Assert.Equal(new[] { 0, 1 }, e.Groups.Select(group => group.FilterGroup).ToArray());

        var all = ExplicitEStep(model, rot, x, patches, minibatch, q => filters[q % 2], forward, s2, v);
        AssertMatches(all, e);
        for (int group = 0; group < 2; group++)
        {
            var own = ExplicitEStep(model, rot, x, patches, e.Groups[group].Patches, q => filters[q % 2], forward, s2, v);
            AssertMatches(own, e.Groups[group]);
        }

        var equations = MStep.Build(model, rot, e, 2, default, forward);
        AssertClose(all.C, equations.Matrix, "C");
        AssertClose(all.Y, equations.RightHandSide, "y");
        Assert.Throws<ArgumentException>(() => MStep.Build(model, rot, e));
    }

    /// <summary>A model seen only through B(R): hides the Fourier–Bessel factoring, so the M-step takes its general path.</summary>
    private sealed class Unfactored : ILinearProjectionModel
    {
        private readonly ILinearProjectionModel _inner;

        public Unfactored(ILinearProjectionModel inner) => _inner = inner;

        public int ImageSize => _inner.ImageSize;

        public int ParameterCount => _inner.ParameterCount;

        public void ProjectionMatrix(Rotation rotation, Span<double> destination) => _inner.ProjectionMatrix(rotation, destination);
    }

    /// <summary>
    /// The Fourier–Bessel M-step through two CTF groups (F_g G per group, one Wigner expansion per rotation) equals the general
    /// path, which filters every B_ω column by column (itself checked against explicit sums above), in double and single.
    /// </summary>
    /// <summary>
    /// The factored M-step (one expansion per rotation, one syrk of F_g·G rows per group) against the general one (F_g B_ω per
    /// rotation and group), with 2 and with 11 filter groups.
    /// </summary>
    [Theory]
    [InlineData(EStepPrecision.Double, 2)]
    [InlineData(EStepPrecision.Single, 2)]
    [InlineData(EStepPrecision.Double, 11)]
    public void FactoredFilteredMStepEqualsTheGeneralOne(EStepPrecision precision, int groups)
    {
        int l = 9, p = Math.Max(10, 2 * groups);
        var basis = FourierBesselBasis.Create(l, 3);
        var model = new FourierBesselModel(basis);
        var rot = EmData.Rotations(4, 21);
        var x = EmData.RandomVector(model.ParameterCount, 0.5, 22);
        var (made, _) = EmData.Make(model, rot, x, p, sigma: 0.5, emptyFraction: 0.2, seed: 23);
        var origins = Enumerable.Range(0, p).Select(q => new PatchOrigin(q % groups, q * l, 0)).ToArray();
        var patches = new PatchSet(l, made.Data, origins, null, 0.25, Enumerable.Range(0, groups).Select(g => $"m{g}").ToArray());
        var filters = Enumerable.Range(0, groups).Select(g => (IImageFilter)new MicrographFilter(
            new Ctf(12000 + 1500 * g, 10000 + 1500 * g, 30 + 7 * g, 300, 2.7, 0.1, 3), null, 3, 2)).ToArray();
        var forward = new ForwardModel(l, filters);
        var e = EStep.Run(forward, model, rot, x, patches, Enumerable.Range(0, p).ToArray(), 0.3, new ShiftPrior(forward, 0.2),
            new RotationPrior(rot.Length), new EStepOptions { Threads = 2, Precision = precision });
        Assert.Equal(groups, e.Groups.Count);
        Assert.Equal(l + 4, e.BoxSize);
        var factored = MStep.Build(model, rot, e, 2, default, forward);
        var general = MStep.Build(new Unfactored(model), rot, e, 2, default, forward);
        double tolerance = precision == EStepPrecision.Double ? 1e-10 : 1e-5;
        AssertClose(general.RightHandSide, factored.RightHandSide, "y", tolerance);
        AssertClose(general.Matrix, factored.Matrix, "C", tolerance);
    }

    private sealed record Explicit(double[] LogLikelihood, double EmptyPosterior, double[] ShiftWeight, double[] BackProjection, double[] PixelWeight,
        double[] C, double[] Y);

    /// <summary>The E-step by explicit sums: for every patch, rotation and lag the residual against crop_d(F B_ω x), then log-sum-exp and the posterior-weighted statistics.</summary>
    private static Explicit ExplicitEStep(ILinearProjectionModel model, Rotation[] rot, double[] x, PatchSet patches, int[] minibatch,
        Func<int, IImageFilter> filterOf, ForwardModel forward, double s2, double v)
    {
        int l = model.ImageSize, n = model.ParameterCount, k = rot.Length, l2 = l * l;
        int box = forward.BoxSize, lags = forward.LagsPerAxis, lags2 = lags * lags;
        var images = new double[k][];
        var matrix = new double[l2 * n];
        for (int w = 0; w < k; w++)
        {
            model.ProjectionMatrix(rot[w], matrix);
            images[w] = new double[l2];
            for (int i = 0; i < l2; i++)
            {
                for (int c = 0; c < n; c++)
                {
                    images[w][i] += matrix[i * n + c] * x[c];
                }
            }
        }

        // F B_ω for each rotation and each filter, column by column (column c of B_ω is an L×L image): for C and y below.
        var matrices = new double[k][];
        for (int w = 0; w < k; w++)
        {
            matrices[w] = new double[l2 * n];
            model.ProjectionMatrix(rot[w], matrices[w]);
        }

        var filteredMatrices = new Dictionary<IImageFilter, double[][]>();
        double[][] FilteredMatrix(IImageFilter filter)
        {
            if (!filteredMatrices.TryGetValue(filter, out var result))
            {
                result = new double[k][];
                int margin = filter.Margin(l), inner = l + 2 * margin, offset = forward.Margin - margin;
                for (int w = 0; w < k; w++)
                {
                    result[w] = new double[box * box * n];
                    for (int c = 0; c < n; c++)
                    {
                        var column = new double[l2];
                        for (int i = 0; i < l2; i++)
                        {
                            column[i] = matrices[w][i * n + c];
                        }

                        var image = new double[inner * inner];
                        filter.Apply(column, l, image);
                        for (int y = 0; y < inner; y++)
                        {
                            for (int xx = 0; xx < inner; xx++)
                            {
                                result[w][((y + offset) * box + xx + offset) * n + c] = image[y * inner + xx];
                            }
                        }
                    }
                }

                filteredMatrices[filter] = result;
            }

            return result;
        }

        var cMatrix = new double[n * n];
        var yVector = new double[n];
        double logNorm = -0.5 * l2 * Math.Log(2 * Math.PI * s2), logLag = Math.Log((1 - v) / lags2), logRotation = -Math.Log(k);
        var weights = new double[k * lags2];
        var back = new double[k * box * box];
        var pixel = new double[k * box * box];
        var logLikelihood = new double[minibatch.Length];
        double emptySum = 0;
        for (int j = 0; j < minibatch.Length; j++)
        {
            int q = minibatch[j];
            var patch = patches.Patch(q).ToArray();
            var filtered = new double[k][];
            for (int w = 0; w < k; w++)
            {
                filtered[w] = new double[box * box];
                filterOf(q).Apply(images[w], l, filtered[w]);
            }

            var terms = new double[1 + k * lags2];
            terms[0] = Math.Log(v) + logNorm - patch.Sum(a => a * a) / (2 * s2);
            for (int w = 0; w < k; w++)
            {
                for (int dy = -(l - 1); dy < box; dy++)
                {
                    for (int dx = -(l - 1); dx < box; dx++)
                    {
                        double residual = 0;
                        for (int y = 0; y < l; y++)
                        {
                            for (int xx = 0; xx < l; xx++)
                            {
                                int u = y + dy, t = xx + dx;
                                double predicted = u >= 0 && u < box && t >= 0 && t < box ? filtered[w][u * box + t] : 0;
                                residual += (patch[y * l + xx] - predicted) * (patch[y * l + xx] - predicted);
                            }
                        }

                        terms[1 + w * lags2 + (dy + l - 1) * lags + dx + l - 1] = logLag + logRotation + logNorm - residual / (2 * s2);
                    }
                }
            }

            double max = terms.Max();
            double ll = max + Math.Log(terms.Sum(t => Math.Exp(t - max)));
            logLikelihood[j] = ll;
            emptySum += Math.Exp(terms[0] - ll);
            for (int w = 0; w < k; w++)
            {
                for (int dy = -(l - 1); dy < box; dy++)
                {
                    for (int dx = -(l - 1); dx < box; dx++)
                    {
                        double weight = Math.Exp(terms[1 + w * lags2 + (dy + l - 1) * lags + dx + l - 1] - ll);
                        weights[w * lags2 + (dy + l - 1) * lags + dx + l - 1] += weight;
                        // C += w·AᵀA and y += w·AᵀI with A = crop_d(F B_ω): the rows of F B_ω inside the patch's window.
                        var fb = FilteredMatrix(filterOf(q))[w];
                        for (int y = 0; y < l; y++)
                        {
                            for (int xx = 0; xx < l; xx++)
                            {
                                int u = y + dy, t = xx + dx;
                                if (u < 0 || u >= box || t < 0 || t >= box)
                                {
                                    continue;
                                }

                                int row = (u * box + t) * n;
                                for (int a = 0; a < n; a++)
                                {
                                    yVector[a] += weight * fb[row + a] * patch[y * l + xx];
                                    for (int b = 0; b < n; b++)
                                    {
                                        cMatrix[a * n + b] += weight * fb[row + a] * fb[row + b];
                                    }
                                }
                            }
                        }

                        for (int y = 0; y < l; y++)
                        {
                            for (int xx = 0; xx < l; xx++)
                            {
                                int u = y + dy, t = xx + dx;
                                if (u >= 0 && u < box && t >= 0 && t < box)
                                {
                                    back[w * box * box + u * box + t] += weight * patch[y * l + xx];
                                    pixel[w * box * box + u * box + t] += weight;
                                }
                            }
                        }
                    }
                }
            }
        }

        return new Explicit(logLikelihood, emptySum / minibatch.Length, weights, back, pixel, cMatrix, yVector);
    }

    private static void AssertMatches(Explicit expected, EStepResult actual)
    {
        Assert.Equal(expected.LogLikelihood.Length, actual.PatchLogLikelihood.Length);
        for (int j = 0; j < expected.LogLikelihood.Length; j++)
        {
            double ll = expected.LogLikelihood[j];
            Assert.True(Math.Abs(ll - actual.PatchLogLikelihood[j]) <= 1e-10 * Math.Abs(ll), $"LL {j}: {ll:R} vs {actual.PatchLogLikelihood[j]:R}");
        }

        Assert.Equal(expected.EmptyPosterior, actual.EmptyPosterior, 12);
        AssertClose(expected.ShiftWeight, actual.ShiftWeight, "W");
        AssertClose(expected.BackProjection, actual.BackProjection, "b");
        AssertClose(expected.PixelWeight, actual.PixelWeight, "m");
    }

    private static void AssertClose(double[] expected, double[] actual, string what, double tolerance = 1e-10)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * scale, $"{what}[{i}]: {expected[i]:R} vs {actual[i]:R}");
        }
    }

    /// <summary>
    /// The EM runs through a filtered forward model: it recovers a volume from patches made through the same filter, and a
    /// forward model with too few filters for the patches' micrographs is refused.
    /// </summary>
    [Fact]
    public void TheEmRunsWithAFilteredForwardModel()
    {
        int l = 5;
        var model = new RandomDenseModel(l, 4, seed: 1);
        var rot = new RotationSet(EmData.Rotations(3, 2));
        var (patches, _) = EmData.Make(model, rot.Rotations.ToArray(), EmData.RandomVector(4, 0.6, 3), 4, sigma: 0.7, emptyFraction: 0.3, seed: 5);
        var settings = new ApproxEmSettings
        {
            Stages = new[] { new ApproxEmStage(model, rot, 1, 2) },
            NoiseVariance = 0.5,
            ForwardModel = new ForwardModel(l, new IImageFilter[] { new BlurFilter() }),
        };
        var run = ApproxEm.Run(patches, EmData.RandomVector(4, 0.3, 4), settings);
        Assert.All(run.Coefficients, value => Assert.True(double.IsFinite(value)));
        Assert.True(run.History.Count >= 2);
        // Exact EM (S = 1, σ² fixed): the log-likelihood never falls, which a wrong filtered M-step would break.
        for (int i = 1; i < run.History.Count; i++)
        {
            Assert.True(run.History[i].LogLikelihood >= run.History[i - 1].LogLikelihood - 1e-9,
                $"LL fell at row {i}: {run.History[i - 1].LogLikelihood:R} → {run.History[i].LogLikelihood:R}");
        }

        var tooFew = new ApproxEmSettings
        {
            Stages = settings.Stages,
            NoiseVariance = 0.5,
            ForwardModel = new ForwardModel(l, Array.Empty<IImageFilter>().Append(new BlurFilter()).ToArray()),
        };
        var twoMicrographs = new PatchSet(l, patches.Data, patches.Origins.Select((o, q) => new PatchOrigin(q % 2, o.Row, o.Column)).ToArray(),
            null, 0.49, new[] { "a", "b" });
        var ex = Assert.Throws<ArgumentException>(() => ApproxEm.Run(twoMicrographs, new double[4], tooFew));
        Assert.Contains("filters for 1", ex.Message);
    }
}
