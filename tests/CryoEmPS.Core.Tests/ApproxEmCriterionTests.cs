using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The truth-free criteria of Algorithm 1 (held-out log-likelihood, the half-map estimate with the model's ceiling), the map each
/// stage hands on, adaptive marching, and the FSC-weighted combination of half maps.
/// </summary>
public class ApproxEmCriterionTests
{
    [Fact]
    public void CompletenessAtEllMaxZeroIsTheSincIntegralOfTheProfile()
    {
        // A hat profile around r0 = 5 pixels; c(k) at ℓmax 0 is ∫ sinc²(2πkr/L) w r² dr / ∫ w r² dr (trapezoid, independent rule).
        int size = 17;
        var w = new double[9];
        w[5] = 1;
        var curve = ModelCompleteness.Curve(size, 0, w);
        for (int k = 0; k <= 8; k++)
        {
            double num = 0, den = 0;
            const int steps = 20000;
            for (int i = 0; i <= steps; i++)
            {
                double r = 8.0 * i / steps, hat = Math.Max(0, 1 - Math.Abs(r - 5)), x = 2 * Math.PI * k * r / size;
                double j0 = x == 0 ? 1 : Math.Sin(x) / x, t = (i == 0 || i == steps ? 0.5 : 1) * hat * r * r;
                num += t * j0 * j0;
                den += t;
            }

            Assert.Equal(num / den, curve[k], 4);
        }
    }

    [Fact]
    public void CompletenessOfAHighEnoughEllMaxIsOneAndFallsWithEllMax()
    {
        var w = Enumerable.Range(0, 9).Select(r => r <= 6 ? 1.0 : 0).ToArray();
        Assert.All(ModelCompleteness.Curve(17, 40, w), c => Assert.Equal(1, c, 6));
        var low = ModelCompleteness.Curve(17, 4, w);
        var high = ModelCompleteness.Curve(17, 10, w);
        Assert.Equal(1, low[0], 12);
        for (int k = 1; k <= 8; k++)
        {
            Assert.True(low[k] <= high[k] + 1e-12, $"shell {k}: {low[k]} > {high[k]}");
        }

        Assert.True(low[8] < 0.5, $"ℓmax 4 should hold well under half of shell 8 of a 6-pixel ball; got {low[8]}");
    }

    [Fact]
    public void CeilingPredictsTheFscOfWhiteNoiseInABallAgainstItsOwnExpansion()
    {
        // Independent: the FSC between white noise inside r ≤ 6 and its Fourier–Bessel expansion at ℓmax 4, averaged over seeds.
        int size = 17, ellMax = 4, c = size / 2;
        var measured = new double[9];
        const int seeds = 3;
        for (int seed = 0; seed < seeds; seed++)
        {
            var random = new SeededRandom(500 + seed);
            var data = new double[size * size * size];
            for (int z = 0; z < size; z++)
            {
                for (int y = 0; y < size; y++)
                {
                    for (int x = 0; x < size; x++)
                    {
                        double r = Math.Sqrt((z - c) * (z - c) + (y - c) * (y - c) + (x - c) * (x - c));
                        data[(z * size + y) * size + x] = r <= 6 ? NormalDeviate.Next(random) : 0;
                    }
                }
            }

            var volume = new Volume(size, data);
            var expansion = FourierBesselTransform.Analyze(volume, ellMax).ToVolume();
            var fsc = Fsc.Compute(volume, expansion);
            for (int k = 0; k <= 8; k++)
            {
                measured[k] += fsc.Curve[k].Correlation / seeds;
            }
        }

        var w = Enumerable.Range(0, 9).Select(r => r <= 6 ? 1.0 : 0).ToArray();
        var predicted = ModelCompleteness.Ceiling(size, ellMax, w, null);
        for (int k = 2; k <= 8; k++)
        {
            Assert.True(Math.Abs(predicted[k] - measured[k]) < 0.1, $"shell {k}: predicted {predicted[k]:F3}, measured {measured[k]:F3}");
        }
    }

    [Fact]
    public void GridBlurOfOneRotationAveragesTheCharactersToZero()
    {
        // Haar-random rotations against a grid of one rotation: E[χ_ℓ(θ)] = 0 for ℓ ≥ 1 (orthogonality of characters), g₀ = 1.
        var g = GridBlur.Attenuation(new[] { Rotation.Identity }, 6);
        Assert.Equal(1, g[0], 12);
        for (int ell = 1; ell <= 6; ell++)
        {
            Assert.True(Math.Abs(g[ell]) < 4 / Math.Sqrt(2000) / (2 * ell + 1) + 1e-3, $"g_{ell} = {g[ell]}");
        }

        // A dense grid blurs little, a coarse one more, and more at high ℓ.
        var fine = GridBlur.Attenuation(RotationGrid.SuperFibonacci(3000).Rotations, 8);
        var coarse = GridBlur.Attenuation(RotationGrid.SuperFibonacci(300).Rotations, 8);
        Assert.True(fine[8] > coarse[8] && fine[2] > fine[8] && fine[8] > 0.3);
    }

    [Fact]
    public void FilterShellsWithUnitWeightsIsTheIdentityAndZeroWeightsRemoveAShell()
    {
        var volume = Phantom.Create(9);
        var same = Fsc.FilterShells(volume, Enumerable.Repeat(1.0, 5).ToArray());
        for (int i = 0; i < volume.Length; i++)
        {
            Assert.Equal(volume.Data[i], same.Data[i], 12);
        }

        var weight = new[] { 1.0, 1, 0, 1, 1 };
        var filtered = Fsc.FilterShells(volume, weight);
        var sums = Fsc.ShellSums(filtered, filtered);
        var original = Fsc.ShellSums(volume, volume);
        Assert.True(sums.PowerA[2] < 1e-20 * original.PowerA[2] + 1e-20);
        Assert.Equal(original.PowerA[3], sums.PowerA[3], 8);
    }

    [Fact]
    public void FscWeightingScalesEachShellByCRefAndKeepsTheFscAgainstAReference()
    {
        var truth = Phantom.Create(9);
        var noise1 = EmData.RandomVector(truth.Length, 0.05, 3);
        var noise2 = EmData.RandomVector(truth.Length, 0.05, 4);
        var half1 = new Volume(9, truth.Data.Zip(noise1, (a, b) => a + b).ToArray());
        var half2 = new Volume(9, truth.Data.Zip(noise2, (a, b) => a + b).ToArray());
        var mean = new Volume(9, half1.Data.Zip(half2.Data, (a, b) => 0.5 * (a + b)).ToArray());
        var weighted = ApproxEmReconstruction.FscWeighted(mean, half1, half2);
        var halfFsc = Fsc.Compute(half1, half2);
        var before = Fsc.ShellSums(mean, mean);
        var after = Fsc.ShellSums(weighted, weighted);
        var againstTruth = Fsc.Compute(truth, mean);
        var weightedAgainstTruth = Fsc.Compute(truth, weighted);
        for (int k = 0; k <= 4; k++)
        {
            double f = halfFsc.Curve[k].Correlation, cRef = f > 0 ? Math.Sqrt(2 * f / (1 + f)) : 0;
            Assert.Equal(cRef * cRef * before.PowerA[k], after.PowerA[k], 8);
            if (f > 0)
            {
                Assert.Equal(againstTruth.Curve[k].Correlation, weightedAgainstTruth.Curve[k].Correlation, 10);
            }
        }
    }

    [Fact]
    public void HeldOutSetIsSeededSortedAndDisjointFromTheRest()
    {
        var held = HeldOutSet.Choose(100, 0.1, 7);
        Assert.Equal(10, held.Length);
        Assert.Equal(held.OrderBy(i => i), held);
        Assert.Equal(held, HeldOutSet.Choose(100, 0.1, 7));
        Assert.NotEqual(held, HeldOutSet.Choose(100, 0.1, 8));
        var rest = HeldOutSet.Rest(100, held);
        Assert.Equal(90, rest.Length);
        Assert.Empty(rest.Intersect(held));
        Assert.Equal(Enumerable.Range(0, 100), rest.Concat(held).OrderBy(i => i));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(0.001)]
    public void HeldOutFractionOutsideTheOpenIntervalIsRefused(double fraction)
    {
        var (patches, _) = EmData.Make(new RandomDenseModel(5, 4, 1), EmData.Rotations(3, 2), EmData.RandomVector(4, 1, 3), 40, 0.5, 0.3, 4);
        var request = new ApproxEmRequest
        {
            Patches = patches, EllMax = new[] { 1 }, RotationCount = new[] { 3 }, NoiseVariance = 0.25, HeldOutFraction = fraction,
        };
        var ex = Assert.Throws<ApproxEmInputException>(() => request.Resolve());
        Assert.Equal("HeldOutFractionOutOfRange", ex.ErrorId);
    }

    [Fact]
    public void AdaptiveMarchingWithoutACriterionIsRefused()
    {
        var (patches, _) = EmData.Make(new RandomDenseModel(5, 4, 1), EmData.Rotations(3, 2), EmData.RandomVector(4, 1, 3), 40, 0.5, 0.3, 4);
        var request = new ApproxEmRequest
        {
            Patches = patches, EllMax = new[] { 1, 2 }, RotationCount = new[] { 3 }, NoiseVariance = 0.25,
            Marching = FrequencyMarching.Adaptive,
        };
        Assert.Equal("AdaptiveMarchingNeedsCriterion", Assert.Throws<ApproxEmInputException>(() => request.Resolve()).ErrorId);
    }

    /// <summary>A three-stage Fourier–Bessel problem at L = 7 (ℓmax 1 → 2 → 3) with held-out patches.</summary>
    private static (PatchSet Patches, double[] Start, Func<string?, bool, bool, ApproxEmSettings> Settings) Marching()
    {
        var models = new[] { FourierBesselModel.Get(7, 1), FourierBesselModel.Get(7, 2), FourierBesselModel.Get(7, 3) };
        var rot = new RotationSet(EmData.Rotations(8, 21));
        var x = EmData.RandomVector(models[2].ParameterCount, 1.0, 22);
        var (patches, _) = EmData.Make(models[2], rot.Rotations, x, 80, 0.6, 0.3, 23);
        var start = x.Take(models[0].ParameterCount).Select((v, i) => v + 0.3 * Math.Cos(i)).ToArray();
        var heldOut = HeldOutSet.Choose(patches.Count, 0.2, 5);
        ApproxEmSettings Settings(string? ck, bool resume, bool adaptive) => new()
        {
            Stages = models.Select((m, i) => new ApproxEmStage(m, rot, i == 0 ? 1 : 0.5, 3, ellMax: i + 1)).ToArray(),
            NoiseVariance = 0.36, EstimateNoiseVariance = true, MStep = MStepMode.Incremental, HeldOut = heldOut, Seed = 9, Threads = 2,
            CheckpointPath = ck, Resume = resume, AdaptiveMarching = adaptive,
            Lift = (stage, c) => ApproxEm.ZeroPad(c, models[stage].ParameterCount),
        };
        return (patches, start, Settings);
    }

    [Fact]
    public void HeldOutPatchesAreInNoMStepAndTheirLikelihoodChoosesTheReturnedMap()
    {
        var (patches, start, settings) = Marching();
        var run = ApproxEm.Run(patches, start, settings(null, false, false));
        int heldOut = settings(null, false, false).HeldOut!.Length;
        var first = run.History.First(row => row.Stage == 1);
        Assert.Equal(patches.Count - heldOut, first.PatchCount);
        Assert.All(run.History, row => Assert.True(double.IsFinite(row.HeldOutLogLikelihoodPerPatch)));
        // Every row scores the same held-out patches, one value each, whose mean is the row's held-out log-likelihood.
        Assert.All(run.History, row =>
        {
            Assert.Equal(heldOut, row.HeldOutPatchLogLikelihood.Length);
            Assert.Equal(row.HeldOutLogLikelihoodPerPatch, row.HeldOutPatchLogLikelihood.Average(), 10);
        });

        // The rule, recomputed from the history: stage 1 is the scale; a later stage's values are shifted patch by patch so that its
        // iteration 0 scores as the map it was handed (StageResultRows of the stage before); the top is the highest mean score among
        // the maps the EM made (ties to the later), and the returned map is the latest of the top's stage within one standard error
        // of the top's, by the paired differences patch by patch.
        var history = run.History.ToArray();
        var scores = new double[history.Length][];
        for (int r = 0; r < history.Length; r++)
        {
            var row = run.History[r];
            var raw = row.HeldOutPatchLogLikelihood;
            if (row.Stage == 1)
            {
                scores[r] = raw;
                continue;
            }

            int stageStart = Array.FindIndex(history, h => h.Stage == row.Stage);
            var handedOn = scores[run.StageResultRows[row.Stage - 2]];
            var startRaw = run.History[stageStart].HeldOutPatchLogLikelihood;
            scores[r] = raw.Select((v, i) => v - (startRaw[i] - handedOn[i])).ToArray();
        }

        Assert.All(run.History.Select((row, r) => (row, r)), p => Assert.Equal(scores[p.r].Average(), p.row.HeldOutScore, 10));
        int top = -1, best = -1;
        for (int r = 0; r < history.Length; r++)
        {
            if (r > 0 && run.History[r].Iteration == 0)
            {
                // The stage before ended: it handed on the map chosen so far.
                Assert.Equal(best, run.StageResultRows[run.History[r - 1].Stage - 1]);
            }

            if (run.History[r].Iteration == 0)
            {
                continue;
            }

            if (top < 0 || scores[r].Average() >= scores[top].Average())
            {
                top = best = r;
                continue;
            }

            var d = scores[r].Zip(scores[top], (a, b) => a - b).ToArray();
            double mean = d.Average(), se = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / (d.Length - 1) / d.Length);
            if (history[r].Stage == history[top].Stage && mean >= -se)
            {
                best = r;
            }
        }

        Assert.Equal(best, run.BestRow);
        Assert.True(run.History[run.BestRow].Best);
        Assert.Equal(1, run.History.Count(row => row.Best));
        // Each stage after the first starts from the map the one before handed on, which scores the same there once shifted.
        for (int stage = 2; stage <= 3; stage++)
        {
            var handedOn = run.History[run.StageResultRows[stage - 2]];
            Assert.Equal(stage - 1, handedOn.Stage);
            var rows = run.History.Where(row => row.Stage == stage).ToList();
            Assert.Equal(handedOn.HeldOutScore, rows[0].HeldOutScore, 10);
        }
    }

    [Fact]
    public void AdaptiveMarchingWithoutIterationsStopsAfterTheFirstStage()
    {
        // No stage makes a map (MaxIterations 0), so no stage improves on the first: the run stops after stage 2 and returns
        // its last row, the start lifted.
        var (patches, start, settings) = Marching();
        var baseSettings = settings(null, false, true);
        var noIterations = new ApproxEmSettings
        {
            Stages = baseSettings.Stages.Select(s => new ApproxEmStage(s.Model, s.Rotations, s.StochasticFactor, 0, ellMax: s.EllMax)).ToArray(),
            NoiseVariance = baseSettings.NoiseVariance, EstimateNoiseVariance = true, MStep = MStepMode.Incremental,
            HeldOut = baseSettings.HeldOut, Seed = 9, Threads = 2, AdaptiveMarching = true, Lift = baseSettings.Lift,
        };
        var run = ApproxEm.Run(patches, start, noIterations);
        Assert.Equal(2, run.History.Max(row => row.Stage));
        Assert.All(run.History, row => Assert.Equal(0, row.Iteration));
        Assert.Equal(run.History.Count - 1, run.BestRow);
    }

    [Fact]
    public void AdaptiveMarchingStopsAfterAStageThatDidNotImproveAndResumesBitIdentically()
    {
        var (patches, start, settings) = Marching();
        var run = ApproxEm.Run(patches, start, settings(null, false, true));
        int ran = run.History.Max(row => row.Stage);
        // The rule, recomputed from the history: every stage that ran, except the first, produced the best map so far when it ended
        // (or it is the last to run), and a stop before the schedule's end follows a stage that did not.
        for (int stage = 2; stage <= ran; stage++)
        {
            double before = run.History.Where(row => row.Stage < stage && row.Iteration > 0).Max(row => row.HeldOutScore);
            double during = run.History.Where(row => row.Stage == stage && row.Iteration > 0).Max(row => row.HeldOutScore);
            bool improved = !(during < before);
            Assert.True(improved || stage == ran, $"stage {stage} did not improve but the run went on");
            if (stage == ran && ran < 3)
            {
                Assert.False(improved, "the run stopped after a stage that improved");
            }
        }

        var fixedRun = ApproxEm.Run(patches, start, settings(null, false, false));
        Assert.Equal(3, fixedRun.History.Max(row => row.Stage));

        string dir = Path.Combine(Path.GetTempPath(), "cryoemps-adaptive-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string ck = Path.Combine(dir, "a.ckpt");
            using var cts = new CancellationTokenSource();
            var progress = new SyncProgress(p => { if (p.Completed is { Stage: 2, Iteration: 1 }) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => ApproxEm.Run(patches, start, settings(ck, false, true), progress, cts.Token));
            var resumed = ApproxEm.Run(patches, start, settings(ck, true, true));
            Assert.True(resumed.Resumed);
            Assert.Equal(run.Coefficients, resumed.Coefficients);
            Assert.Equal(run.History.Select(h => h.HeldOutLogLikelihoodPerPatch), resumed.History.Select(h => h.HeldOutLogLikelihoodPerPatch));
            Assert.Equal(run.History.Select(h => h.HeldOutScore), resumed.History.Select(h => h.HeldOutScore));
            Assert.Equal(run.BestRow, resumed.BestRow);
            Assert.Equal(run.StageResultRows, resumed.StageResultRows);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
