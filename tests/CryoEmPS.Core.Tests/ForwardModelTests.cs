using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Tests;

/// <summary>The forward model's stages and geometry, and the priors as the E-step consumes them, against direct computations.</summary>
public class ForwardModelTests
{
    /// <summary>A test filter with margin 1: each pixel spreads a third of itself to its 4 neighbours' average (a linear blur).</summary>
    private sealed class BlurFilter : IImageFilter
    {
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
                    double a = image[y * imageSize + x];
                    filtered[(y + 1) * box + x + 1] += a / 3;
                    filtered[y * box + x + 1] += a / 6;
                    filtered[(y + 2) * box + x + 1] += a / 6;
                    filtered[(y + 1) * box + x] += a / 6;
                    filtered[(y + 1) * box + x + 2] += a / 6;
                }
            }
        }

        public override bool Equals(object? obj) => obj is BlurFilter;
        public override int GetHashCode() => 7;
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
            var g = new Random(100 + block);
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
        var updated = new ShiftPrior(forward, 0.3).Updated(paper, forward);
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
        int box = forward.BoxSize, lags = forward.LagsPerAxis, lags2 = lags * lags, l2 = l * l;
        var minibatch = Enumerable.Range(0, p).ToArray();
        var e = EStep.Run(forward, model, rot, x, patches, minibatch, s2, new ShiftPrior(forward, v), new RotationPrior(k),
            new EStepOptions { Threads = 2, FftSize = fftSize, Precision = EStepPrecision.Double });
        Assert.Equal(box, e.BoxSize);

        // The filtered projections F B_ω x, B×B.
        var filtered = new double[k][];
        var matrix = new double[l2 * n];
        for (int w = 0; w < k; w++)
        {
            model.ProjectionMatrix(rot[w], matrix);
            var image = new double[l2];
            for (int i = 0; i < l2; i++)
            {
                for (int c = 0; c < n; c++)
                {
                    image[i] += matrix[i * n + c] * x[c];
                }
            }

            filtered[w] = new double[box * box];
            blur.Apply(image, l, filtered[w]);
        }

        double logNorm = -0.5 * l2 * Math.Log(2 * Math.PI * s2), logLag = Math.Log((1 - v) / lags2), logRotation = -Math.Log(k);
        var weights = new double[k * lags2];
        var back = new double[k * box * box];
        var pixel = new double[k * box * box];
        double emptySum = 0;
        for (int q = 0; q < p; q++)
        {
            var patch = patches.Patch(q).ToArray();
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
                                double model_ = u >= 0 && u < box && t >= 0 && t < box ? filtered[w][u * box + t] : 0;
                                residual += (patch[y * l + xx] - model_) * (patch[y * l + xx] - model_);
                            }
                        }

                        terms[1 + w * lags2 + (dy + l - 1) * lags + dx + l - 1] = logLag + logRotation + logNorm - residual / (2 * s2);
                    }
                }
            }

            double max = terms.Max();
            double ll = max + Math.Log(terms.Sum(t => Math.Exp(t - max)));
            Assert.True(Math.Abs(ll - e.PatchLogLikelihood[q]) <= 1e-10 * Math.Abs(ll), $"LL q={q}: {ll:R} vs {e.PatchLogLikelihood[q]:R}");
            emptySum += Math.Exp(terms[0] - ll);
            for (int w = 0; w < k; w++)
            {
                for (int dy = -(l - 1); dy < box; dy++)
                {
                    for (int dx = -(l - 1); dx < box; dx++)
                    {
                        double weight = Math.Exp(terms[1 + w * lags2 + (dy + l - 1) * lags + dx + l - 1] - ll);
                        weights[w * lags2 + (dy + l - 1) * lags + dx + l - 1] += weight;
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

        Assert.Equal(emptySum / p, e.EmptyPosterior, 12);
        AssertClose(weights, e.ShiftWeight, "W");
        AssertClose(back, e.BackProjection, "b");
        AssertClose(pixel, e.PixelWeight, "m");
        // The M-step of a filtered model is not written yet: it refuses these statistics rather than misuse them.
        Assert.Throws<NotSupportedException>(() => MStep.Build(model, rot, e));
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-10 * scale, $"{what}[{i}]: {expected[i]:R} vs {actual[i]:R}");
        }
    }

    [Fact]
    public void TheEmRefusesAFilteredForwardModelUntilTheMStepHandlesIt()
    {
        int l = 5;
        var model = new RandomDenseModel(l, 4, seed: 1);
        var rot = new RotationSet(EmData.Rotations(3, 2));
        var (patches, _) = EmData.Make(model, rot.Rotations.ToArray(), EmData.RandomVector(4, 0.6, 3), 4, sigma: 0.7, emptyFraction: 0.3, seed: 5);
        var settings = new ApproxEmSettings
        {
            Stages = new[] { new ApproxEmStage(model, rot, 1, 1) },
            NoiseVariance = 0.5,
            ForwardModel = new ForwardModel(l, new IImageFilter[] { new BlurFilter() }),
        };
        var ex = Assert.Throws<NotSupportedException>(() => ApproxEm.Run(patches, new double[4], settings));
        Assert.Contains("blur", ex.Message);
    }
}
