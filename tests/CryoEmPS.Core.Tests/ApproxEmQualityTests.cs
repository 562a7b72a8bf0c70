using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;
using MathNet.Numerics.LinearAlgebra;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The quality options of Algorithm 1: the MAP M-step, the incremental EM, the σ² M-step, the gold-standard half-sets, and
/// resume with all of them on.
/// </summary>
public class ApproxEmQualityTests
{
    private sealed record Problem(PatchSet Patches, RotationSet Rotations, double[] X0, ILinearProjectionModel Model);

    private static Problem Make(int l = 5, int n = 10, int k = 6, int p = 60, double sigma = 0.6, int seed = 1)
    {
        var rot = new RotationSet(EmData.Rotations(k, seed + 100));
        var model = new RandomDenseModel(l, n, seed);
        var xTrue = EmData.RandomVector(n, 1.0, seed + 1);
        var (patches, _) = EmData.Make(model, rot.Rotations, xTrue, p, sigma, 0.3, seed + 2);
        var noise = EmData.RandomVector(n, 0.4, seed + 3);
        return new Problem(patches, rot, xTrue.Zip(noise, (a, b) => a + b).ToArray(), model);
    }

    private static NormalEquations Equations(Problem pr, double[] x, int[] patches, double sigma2 = 0.36)
    {
        var stats = EStep.Run(pr.Model, pr.Rotations.Rotations, x, pr.Patches, patches, sigma2, 0.3, Exact);
        return MStep.Build(pr.Model, pr.Rotations.Rotations, stats, 1);
    }

    private static readonly EStepOptions Exact = new() { Precision = EStepPrecision.Double, Threads = 2 };

    [Fact]
    public void MapSolveEqualsABruteForceSolveOfTheRegularisedNormalEquations()
    {
        var basis = FourierBesselBasis.Create(7, 3);
        var model = FourierBesselModel.Get(7, 3);
        var rotations = new RotationSet(EmData.Rotations(5, 3));
        var x = EmData.RandomVector(basis.Count, 1.0, 4);
        var (patches, _) = EmData.Make(model, rotations.Rotations, x, 30, 0.5, 0.2, 5);
        var stats = EStep.Run(model, rotations.Rotations, x, patches, Enumerable.Range(0, 30).ToArray(), 0.25, 0.2, Exact);
        var eq = MStep.Build(model, rotations.Rotations, stats, 1);
        var tau2 = new[] { 4.0, 3.0, 1.0, 0.5 };
        var prior = new FourierBesselPrior(basis, tau2);
        double sigma2 = 0.25;
        var map = MStep.Solve(prior.AddTo(eq, sigma2)).Coefficients;

        // Brute force: R[i, j] by the quadrature of its definition, independently, then (C + σ²R) x = y densely.
        int n = basis.Count;
        var c = Matrix<double>.Build.Dense(n, n, (i, j) => eq.Matrix[(long)i * n + j]);
        var r = Matrix<double>.Build.Dense(n, n);
        // Piecewise between the kinks of the interpolated τ² (k = shell/3.5), with more nodes than the class uses.
        var pieces = new[] { 0, 1 / 3.5, 2 / 3.5, 3 / 3.5, 1 }.Zip(new[] { 1 / 3.5, 2 / 3.5, 3 / 3.5, 1, 1 })
            .Take(4).Select(edge => new MathNet.Numerics.Integration.GaussLegendreRule(edge.First, edge.Second, 60)).ToArray();
        var rule = (Abscissas: pieces.SelectMany(p => p.Abscissas).ToArray(), Weights: pieces.SelectMany(p => p.Weights).ToArray());
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                var (l1, m1, s1) = basis.Unindex(i);
                var (l2, m2, s2) = basis.Unindex(j);
                if (l1 != l2 || m1 != m2)
                {
                    continue;
                }

                double sum = 0;
                for (int q = 0; q < rule.Abscissas.Length; q++)
                {
                    double k = rule.Abscissas[q], shell = 0.5 * k * 7;
                    int below = Math.Min((int)shell, tau2.Length - 1);
                    double t = below >= tau2.Length - 1 ? tau2[^1] : tau2[below] + (shell - below) * (tau2[below + 1] - tau2[below]);
                    sum += rule.Weights[q] * k * k * basis.RadialFunction(l1, s1, k) * basis.RadialFunction(l1, s2, k) / t;
                }

                r[i, j] = 343 * 0.125 * sum;
            }
        }

        var brute = (c + sigma2 * r).Solve(Vector<double>.Build.DenseOfArray(eq.RightHandSide));
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(brute[i], map[i], 1e-10 * Math.Max(1, Math.Abs(brute[i])));
        }

        // And the quadratic form is the same R.
        var xv = Vector<double>.Build.DenseOfArray(x);
        Assert.Equal(xv * (r * xv), prior.Quadratic(x), 1e-9 * Math.Abs(xv * (r * xv)));
    }

    [Fact]
    public void AConstantTau2GivesLCubedOverTau2TimesTheIdentity()
    {
        // The basis is orthonormal (c³∫ j_{ℓs} j_{ℓs′} k² dk = δ), so a flat τ² is L³/τ² on the diagonal and 0 elsewhere;
        // a factor 2π, c or L would show here.
        var basis = FourierBesselBasis.Create(9, 4);
        var prior = new FourierBesselPrior(basis, new[] { 2.0 });
        for (int ell = 0; ell <= 4; ell++)
        {
            int count = basis.RadialCount(ell);
            var block = prior.Block(ell);
            for (int s = 0; s < count; s++)
            {
                for (int t = 0; t < count; t++)
                {
                    Assert.Equal(s == t ? 729 / 2.0 : 0, block[s * count + t], 1e-8 * 729);
                }
            }
        }
    }

    [Fact]
    public void TheShellPriorMatchesTheDftOfTheSynthesisedVolume()
    {
        // pᵀRp = Σ_j |F_j|²/τ²(|ξ_j|) for the DFT F of the voxel samples (R's derivation), within the sampling error of the
        // Riemann sum Σ_j ≈ L³∫dξ: a few per cent for a smooth volume.
        int size = 15;
        var basis = FourierBesselBasis.Create(size, 4);
        var p = new double[basis.Count];
        var random = new Random(7);
        for (int ell = 0; ell <= 4; ell++)
        {
            for (int m = -ell; m <= ell; m++)
            {
                p[basis.Index(ell, m, 1)] = random.NextDouble() - 0.5;
                p[basis.Index(ell, m, 2)] = 0.5 * (random.NextDouble() - 0.5);
            }
        }

        var tau2 = Enumerable.Range(0, size / 2 + 1).Select(k => 1.0 + k).ToArray();
        var prior = new FourierBesselPrior(basis, tau2);
        var volume = new FourierBesselVolume(basis, p).ToVolume();
        var sums = CryoEmPS.Core.Evaluation.Fsc.ShellSums(volume, volume);
        double direct = 0;
        for (int k = 0; k < tau2.Length; k++)
        {
            direct += sums.PowerA[k] / tau2[k];
        }

        double quadratic = prior.Quadratic(p);
        Assert.InRange(direct / quadratic, 0.95, 1.05);
    }

    [Fact]
    public void AVanishingPriorGivesTheMaximumLikelihoodSolutionBitForBit()
    {
        var pr = Make();
        var basis = FourierBesselBasis.Create(5, 1);
        var eq = Equations(pr, pr.X0, Enumerable.Range(0, 60).ToArray());
        // R has the basis's dimension: use equations of that size with the same entries as the first block.
        var square = new NormalEquations(basis.Count, Trim(eq.Matrix, eq.ParameterCount, basis.Count), eq.RightHandSide.Take(basis.Count).ToArray());
        var prior = new FourierBesselPrior(basis, new[] { 1e300 });
        Assert.Equal(MStep.Solve(square).Coefficients, MStep.Solve(prior.AddTo(square, 0.36)).Coefficients);
        var diagonal = FourierBesselPrior.Diagonal(basis, Enumerable.Range(0, 2).Select(l => Enumerable.Repeat(1e300, basis.RadialCount(l)).ToArray()).ToArray());
        Assert.Equal(MStep.Solve(square).Coefficients, MStep.Solve(diagonal.AddTo(square, 0.36)).Coefficients);
    }

    private static double[] Trim(double[] matrix, int n, int m)
    {
        var result = new double[m * m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                result[i * m + j] = matrix[(long)i * n + j];
            }
        }

        return result;
    }

    [Fact]
    public void SummedBlockStatisticsEqualTheFullEStep()
    {
        var pr = Make(p: 61);
        var all = Enumerable.Range(0, 61).ToArray();
        var full = EStep.Run(pr.Model, pr.Rotations.Rotations, pr.X0, pr.Patches, all, 0.36, 0.3, Exact);
        var chain = new ApproxEmChain(0, all, 9, pr.X0, new ShiftPrior(new ForwardModel(5), 0.3), 0.36);
        chain.StartStage(0, 0.3, MStepMode.Incremental);
        Assert.Equal(3, chain.Blocks.Length);
        Assert.Equal(all, chain.Blocks.SelectMany(b => b).OrderBy(q => q));
        for (int iteration = 0; iteration < 3; iteration++)
        {
            chain.Store(iteration, EStep.Run(pr.Model, pr.Rotations.Rotations, pr.X0, pr.Patches, chain.Block(iteration), 0.36, 0.3, Exact));
        }

        var sum = chain.MStepStatistics(MStepMode.Incremental);
        Assert.Equal(all, sum.Patches);
        AssertClose(full.BackProjection, sum.BackProjection);
        AssertClose(full.PixelWeight, sum.PixelWeight);
        AssertClose(full.ShiftWeight, sum.ShiftWeight);
        Assert.Equal(full.EmptyPosterior, sum.EmptyPosterior, 1e-12);
        AssertClose(full.PatchEmptyPosterior, sum.PatchEmptyPosterior);
        Assert.Equal(full.LogLikelihood, sum.LogLikelihood, 1e-9);
        // The minibatch M-step solves with the last E-step only.
        Assert.Same(chain.Last, chain.MStepStatistics(MStepMode.Minibatch));

        // The M-step adds the blocks' normal equations (each built once per visit): the same C and y as building from the
        // summed statistics, and as from the full E-step.
        var summed = chain.MStepEquations(MStepMode.Incremental, pr.Model, pr.Rotations.Rotations, 1, new ForwardModel(pr.Model.ImageSize), default);
        var fromSum = MStep.Build(pr.Model, pr.Rotations.Rotations, sum, 1);
        var fromFull = MStep.Build(pr.Model, pr.Rotations.Rotations, full, 1);
        AssertClose(fromSum.Matrix, summed.Matrix);
        AssertClose(fromSum.RightHandSide, summed.RightHandSide);
        AssertClose(fromFull.Matrix, summed.Matrix);
        // A revisited block's equations are rebuilt from its new statistics.
        var moved = pr.X0.Select(v => 1.1 * v).ToArray();
        chain.X = moved;
        chain.Store(3, EStep.Run(pr.Model, pr.Rotations.Rotations, moved, pr.Patches, chain.Block(3), 0.36, 0.3, Exact));
        var after = chain.MStepEquations(MStepMode.Incremental, pr.Model, pr.Rotations.Rotations, 1, new ForwardModel(pr.Model.ImageSize), default);
        AssertClose(MStep.Build(pr.Model, pr.Rotations.Rotations, chain.MStepStatistics(MStepMode.Incremental), 1).Matrix, after.Matrix);
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * scale, $"entry {i}: {expected[i]} vs {actual[i]}");
        }
    }

    [Fact]
    public void ResidualVarianceIsThePosteriorWeightedMeanSquaredResidual()
    {
        // The closed form (Σ‖I‖² − 2xᵀy + xᵀCx)/(P·L²) against the brute-force sum over every (q, s, ω) of w·‖I − A x‖².
        var model = new RandomDenseModel(3, 4, 2);
        var rot = EmData.Rotations(3, 5);
        var x = EmData.RandomVector(4, 1.0, 6);
        var (patches, _) = EmData.Make(model, rot, x, 8, 0.7, 0.3, 7);
        var images = Enumerable.Range(0, 8).Select(q => patches.Patch(q).ToArray()).ToArray();
        var reference = BruteForceEm.Run(model, rot, x, images, 0.49, 0.3);
        var eq = MStep.Build(model, rot, EStep.Run(model, rot, x, patches, Enumerable.Range(0, 8).ToArray(), 0.49, 0.3, Exact), 1);
        var xNew = EmData.RandomVector(4, 1.0, 8);
        double brute = 0;
        int l = 3, twoL = 6;
        for (int q = 0; q < 8; q++)
        {
            double norm = reference.PatchLl[q];
            for (int sy = 0; sy < twoL; sy++)
            {
                for (int sx = 0; sx < twoL; sx++)
                {
                    for (int w = 0; w < 3; w++)
                    {
                        double prior = ShiftPrior.Probability(sy, sx, l, 0.3) / 3;
                        if (prior == 0)
                        {
                            continue;
                        }

                        double weight = Math.Exp(reference.LogLik[((q * twoL + sy) * twoL + sx) * 3 + w] + Math.Log(prior) - norm);
                        var predicted = BruteForceEm.Apply(BruteForceEm.A(model, rot[w], sy, sx), xNew, l * l);
                        brute += weight * images[q].Zip(predicted, (a, b) => (a - b) * (a - b)).Sum();
                    }
                }
            }
        }

        double sumOfSquares = images.Sum(image => image.Sum(v => v * v));
        Assert.Equal(brute / (8 * 9), MStep.ResidualVariance(eq, xNew, sumOfSquares, 8 * 9), 1e-9);
    }

    [Fact]
    public void NoiseVarianceIsRecoveredFromNoiseOnlyPatches()
    {
        int l = 5, p = 400;
        var random = new Random(3);
        var data = new double[p * l * l];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = 1.7 * EmData.Gauss(random);
        }

        double actual = data.Sum(v => v * v) / data.Length;
        var patches = new PatchSet(l, data, Enumerable.Range(0, p).Select(q => new PatchOrigin(0, 0, q * l)).ToArray());
        var model = new RandomDenseModel(l, 6, 4);
        var rot = new RotationSet(EmData.Rotations(4, 2));
        var run = ApproxEm.Run(patches, EmData.RandomVector(6, 0.3, 1), new ApproxEmSettings
        {
            Stages = new[] { new ApproxEmStage(model, rot, 1, 6) }, NoiseVariance = 10, EstimateNoiseVariance = true, Seed = 1, Threads = 2,
        });
        Assert.InRange(run.NoiseVariance / actual, 0.99, 1.01);
        Assert.InRange(actual / (1.7 * 1.7), 0.97, 1.03);
        Assert.Equal(10, run.History[0].NoiseVariance);
    }

    /// <summary>
    /// The run's per-patch empty posteriors (Measure-NoiseSpectrum -Reconstruction reads them): from the last stage's statistics,
    /// so with the incremental EM every patch has one (blocks and held-out patches), with the minibatch M-step only the last
    /// minibatch and the held-out patches. At a low noise level from the true map they tell the truth, each in its place: near 1
    /// for the empty patches, 0 for the others.
    /// </summary>
    [Theory]
    [InlineData(MStepMode.Incremental)]
    [InlineData(MStepMode.Minibatch)]
    public void PatchEmptyProbabilityIsEachPatchsPosteriorFromTheLastStage(MStepMode mode)
    {
        int l = 5, n = 8, p = 45;
        var rot = new RotationSet(EmData.Rotations(5, 31));
        var model = new RandomDenseModel(l, n, 32);
        var xTrue = EmData.RandomVector(n, 1.0, 33);
        var (patches, truths) = EmData.Make(model, rot.Rotations, xTrue, p, 0.02, 0.4, 34);
        var heldOut = new[] { 4, 17, 30 };
        var run = ApproxEm.Run(patches, xTrue, new ApproxEmSettings
        {
            Stages = new[] { new ApproxEmStage(model, rot, 0.5, 3) }, NoiseVariance = 0.0004, Seed = 3, Threads = 2, MStep = mode,
            HeldOut = heldOut, Precision = EStepPrecision.Double,
        });
        var empty = run.PatchEmptyProbability;
        Assert.Equal(p, empty.Length);
        int scored = empty.Count(e => !double.IsNaN(e));
        if (mode == MStepMode.Incremental)
        {
            Assert.Equal(p, scored);
        }
        else
        {
            // The last minibatch: half of the 42 fitted patches, and the 3 held out.
            Assert.Equal(21 + heldOut.Length, scored);
        }

        Assert.All(heldOut, q => Assert.False(double.IsNaN(empty[q])));
        Assert.Contains(truths, t => t.Shift < 0);
        for (int q = 0; q < p; q++)
        {
            if (!double.IsNaN(empty[q]))
            {
                // An empty patch is also explained, a little, by the many projections shifted almost out of it (below 1).
                Assert.True(truths[q].Shift < 0 ? empty[q] > 0.9 : empty[q] < 1e-6, $"patch {q}: {empty[q]}, truly empty: {truths[q].Shift < 0}");
            }
        }
    }

    [Fact]
    public void HalfSetsShareNoParticle()
    {
        foreach (int seed in new[] { 1, 2, 3 })
        {
            int l = 11;
            var micrograph = MicrographSimulator.Simulate(new GaussianBlobProjector(l), new MicrographSimulationOptions
            {
                Size = 220, Density = 0.5, Spacing = ParticleSpacing.Arbitrary, Seed = seed, Snr = 1,
            });
            var patches = PatchExtractor.Extract(new[] { micrograph }, l);
            var halves = HalfSets.Split(patches);
            Assert.True(halves.First.Length > 50 && halves.Second.Length > 50, halves.ToString());
            Assert.Empty(halves.First.Intersect(halves.Second));
            foreach (var particle in micrograph.Truth!.Particles)
            {
                bool Touches(int q)
                {
                    var o = patches.Origins[q];
                    return particle.Row < o.Row + l && o.Row < particle.Row + l && particle.Column < o.Column + l && o.Column < particle.Column + l;
                }

                Assert.False(halves.First.Any(Touches) && halves.Second.Any(Touches), $"{particle} touches both halves");
            }
        }

        // Two micrographs: split by micrograph, balanced.
        var two = new PatchSet(3, new double[5 * 9], new[]
        {
            new PatchOrigin(0, 0, 0), new PatchOrigin(0, 0, 3), new PatchOrigin(1, 0, 0), new PatchOrigin(1, 0, 3), new PatchOrigin(1, 3, 0),
        });
        var split = HalfSets.Split(two);
        Assert.Equal(new[] { 0, 1 }, split.First);
        Assert.Equal(new[] { 2, 3, 4 }, split.Second);
    }

    /// <summary>
    /// 48 patches of a small ℓmax-2 model (L = 7, 6 rotations) spread over two micrographs, so that the half-sets split by
    /// micrograph, and a start near the truth.
    /// </summary>
    private static (FourierBesselModel Model, RotationSet Rotations, PatchSet Patches, double[] Start) TwoMicrographProblem()
    {
        var model = FourierBesselModel.Get(7, 2);
        var rot = new RotationSet(EmData.Rotations(6, 11));
        var x = EmData.RandomVector(model.ParameterCount, 1.0, 12);
        var (patches, _) = EmData.Make(model, rot.Rotations, x, 48, 0.4, 0.3, 13);
        var spread = new PatchSet(7, patches.Data, Enumerable.Range(0, 48).Select(q => new PatchOrigin(q % 2, 0, 7 * (q / 2))).ToArray());
        return (model, rot, spread, x.Select((v, i) => v + 0.3 * Math.Sin(i)).ToArray());
    }

    [Theory]
    [InlineData(ApproxEmPrior.None)]
    [InlineData(ApproxEmPrior.Gaussian)]
    public void WithoutHeldOutPatchesTheHalfMapCriterionPicksTheReturnedMap(ApproxEmPrior prior)
    {
        var (model, rot, spread, start) = TwoMicrographProblem();
        var result = ApproxEm.Run(spread, start, new ApproxEmSettings
        {
            Stages = new[] { new ApproxEmStage(model, rot, 1, 4, ellMax: 2) },
            NoiseVariance = 0.3, Prior = prior, HalfSets = HalfSets.Split(spread), Seed = 4, Threads = 2,
        });
        var candidates = result.History.Where(row => row.Iteration > 0).ToArray();
        Assert.All(candidates, row => Assert.False(double.IsNaN(row.HalfMapCriterion)));
        // The returned row has the highest criterion among the candidates (ties to the later row).
        double top = candidates.Max(row => row.HalfMapCriterion);
        Assert.Equal(candidates.Last(row => row.HalfMapCriterion == top), result.History[result.BestRow]);
        if (prior == ApproxEmPrior.None)
        {
            // Without the prior the criterion is the estimate itself.
            Assert.All(result.History, row => Assert.Equal(row.EstimatedFscShell, row.HalfMapCriterion));
        }

        // Stage 1's iteration 0 is x₀ in both halves: no half-map number there.
        Assert.True(double.IsNaN(result.History[0].HalfMapFscShell));
        Assert.True(double.IsNaN(result.History[0].EstimatedFscShell));
        Assert.True(double.IsNaN(result.History[0].HalfMapCriterion));
    }

    [Fact]
    public void HalfMapPatienceCountsOnlyMapsFittedToData()
    {
        // Stage 1's iteration 0 (x₀ in both halves, FSC 1 everywhere) used to be the patience's baseline: its estimate sat at the
        // ceiling, no later map could beat it, and stage 1 always ended after exactly `patience` iterations.
        var (model, rot, spread, start) = TwoMicrographProblem();
        const int patience = 2, maxIterations = 8;
        var result = ApproxEm.Run(spread, start, new ApproxEmSettings
        {
            Stages = new[] { new ApproxEmStage(model, rot, 1, maxIterations, ellMax: 2) },
            NoiseVariance = 0.3, HalfSets = HalfSets.Split(spread), HalfMapPatience = patience, Seed = 4, Threads = 2,
        });
        var criterion = result.History.Select(row => row.HalfMapCriterion).ToArray();
        Assert.True(double.IsNaN(criterion[0]));
        Assert.True(criterion.Length >= patience + 2, $"stage 1 stopped after {criterion.Length - 1} iterations");

        // The stage stops at the first iteration k whose last `patience` maps all fail to beat the best of maps 1 … k − patience.
        bool StalledAt(int k) => k > patience
            && criterion.Skip(k - patience + 1).Take(patience).All(value => !(value > criterion.Skip(1).Take(k - patience).Max()));
        int last = criterion.Length - 1;
        Assert.All(Enumerable.Range(1, last - 1), k => Assert.False(StalledAt(k), $"should have stopped at iteration {k}"));
        Assert.True(last == maxIterations || StalledAt(last));
    }

    [Fact]
    public void HalfSetRunRecordsTheHalfMapResolutionAndResumesBitIdentically()
    {
        var (basisModel, rot, spread, x0) = TwoMicrographProblem();
        string dir = Path.Combine(Path.GetTempPath(), "cryoemps-q-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            ApproxEmSettings Settings(string? ck, bool resume) => new()
            {
                Stages = new[]
                {
                    new ApproxEmStage(FourierBesselModel.Get(7, 1), rot, 1, 2, ellMax: 1),
                    new ApproxEmStage(basisModel, rot, 0.34, 4, ellMax: 2),
                },
                NoiseVariance = 0.3, EstimateNoiseVariance = true, MStep = MStepMode.Incremental, Prior = ApproxEmPrior.Gaussian,
                HalfSets = HalfSets.Split(spread), HeldOut = HeldOutSet.Choose(48, 0.1, 4), AdaptiveMarching = true,
                Seed = 4, Threads = 2, CheckpointPath = ck, Resume = resume,
                Lift = (stage, c) => ApproxEm.ZeroPad(c, basisModel.ParameterCount),
            };
            var start = x0.Take(FourierBesselModel.Get(7, 1).ParameterCount).ToArray();
            var full = ApproxEm.Run(spread, start, Settings(null, false));
            Assert.Equal(2, full.HalfCoefficients!.Length);
            Assert.NotEqual(full.HalfCoefficients[0], full.HalfCoefficients[1]);
            Assert.All(full.History.Skip(1), row => Assert.False(double.IsNaN(row.HalfMapFscShell)));
            Assert.True(double.IsNaN(full.History[0].HalfMapFscShell));
            Assert.Single(full.History, row => row.Best);
            Assert.True(full.History[full.BestRow].Iteration > 0);

            string ck = Path.Combine(dir, "q.ckpt");
            using var cts = new CancellationTokenSource();
            var progress = new SyncProgress(p => { if (p.Completed is { Stage: 2, Iteration: 2 }) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => ApproxEm.Run(spread, start, Settings(ck, false), progress, cts.Token));
            var resumed = ApproxEm.Run(spread, start, Settings(ck, true));
            Assert.True(resumed.Resumed);
            Assert.Equal(full.Coefficients, resumed.Coefficients);
            Assert.Equal(full.HalfCoefficients[1], resumed.HalfCoefficients![1]);
            Assert.Equal(full.History.Select(h => h.LogLikelihood), resumed.History.Select(h => h.LogLikelihood));
            Assert.Equal(full.History.Select(h => h.NoiseVariance), resumed.History.Select(h => h.NoiseVariance));
            Assert.Equal(full.History.Select(h => h.HalfMapFscShell), resumed.History.Select(h => h.HalfMapFscShell));
            Assert.Equal(full.History.Select(h => h.EstimatedFscShell), resumed.History.Select(h => h.EstimatedFscShell));
            Assert.Equal(full.History.Select(h => h.HalfMapCriterion), resumed.History.Select(h => h.HalfMapCriterion));
            Assert.Equal(full.History.Select(h => h.HeldOutLogLikelihoodPerPatch), resumed.History.Select(h => h.HeldOutLogLikelihoodPerPatch));
            // The per-patch values (from which the held-out choice is replayed on resume) come back through the checkpoint, and so do
            // the scores and the rows each stage handed on.
            Assert.Equal(full.History.SelectMany(h => h.HeldOutPatchLogLikelihood), resumed.History.SelectMany(h => h.HeldOutPatchLogLikelihood));
            Assert.Equal(full.History.Select(h => h.HeldOutScore), resumed.History.Select(h => h.HeldOutScore));
            Assert.Equal(full.StageResultRows, resumed.StageResultRows);
            Assert.All(full.History, row => Assert.True(double.IsFinite(row.HeldOutLogLikelihoodPerPatch)));
            Assert.Equal(full.BestRow, resumed.BestRow);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
