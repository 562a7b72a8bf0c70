using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Tests;

/// <summary>Algorithm 1 as a whole: monotone likelihood, determinism, frequency marching, checkpoints, bad input.</summary>
public class ApproxEmAlgorithmTests
{
    internal sealed record Problem(PatchSet Patches, RotationSet Rotations, double[] XTrue, double[] X0, Func<int, ILinearProjectionModel> Model);

    /// <summary>A random dense model's EM problem (also ShardedEmTests'): patches, rotations, the truth and a start near it.</summary>
    internal static Problem Make(int l = 6, int n = 10, int k = 6, int p = 60, double sigma = 0.6, int seed = 1)
    {
        var rot = new RotationSet(EmData.Rotations(k, seed + 100));
        var model = new RandomDenseModel(l, n, seed);
        var xTrue = EmData.RandomVector(n, 1.0, seed + 1);
        var (patches, _) = EmData.Make(model, rot.Rotations, xTrue, p, sigma, 0.3, seed + 2);
        var noise = EmData.RandomVector(n, 0.6, seed + 3);
        var x0 = xTrue.Zip(noise, (a, b) => a + b).ToArray();
        return new Problem(patches, rot, xTrue, x0, nn => new RandomDenseModel(l, nn, seed));
    }

    private static ApproxEmSettings Settings(Problem pr, double s, int iterations, int threads = 2, int seed = 5, string? ck = null, bool resume = false, double sigma2 = 0.36, int[]? ns = null,
        EStepPrecision precision = EStepPrecision.Auto)
    {
        ns ??= new[] { pr.X0.Length };
        return new ApproxEmSettings
        {
            Stages = ns.Select((n, i) => new ApproxEmStage(pr.Model(n), pr.Rotations, s, iterations, ellMax: i)).ToArray(),
            NoiseVariance = sigma2, Seed = seed, Threads = threads, CheckpointPath = ck, Resume = resume, Precision = precision,
        };
    }

    [Fact]
    public void LogLikelihoodNeverDecreasesWithFullBatch()
    {
        var pr = Make();
        var run = ApproxEm.Run(pr.Patches, pr.X0, Settings(pr, 1.0, 8));
        Assert.Equal(9, run.History.Count);
        for (int i = 1; i < run.History.Count; i++)
        {
            double a = run.History[i - 1].LogLikelihood, b = run.History[i].LogLikelihood;
            Assert.True(b >= a - 1e-9 * Math.Abs(a), $"LL fell from {a:R} to {b:R} at iteration {i}");
        }
        Assert.True(run.History[^1].LogLikelihood > run.History[0].LogLikelihood + 1, "EM did not improve the likelihood at all");
        // and it moved toward the truth
        double e0 = Dist(pr.X0, pr.XTrue), e1 = Dist(run.Coefficients, pr.XTrue);
        Assert.True(e1 < 0.5 * e0, $"distance to truth {e0:g3} → {e1:g3}");
    }

    private static double Dist(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (u, v) => (u - v) * (u - v)).Sum());

    [Fact]
    public void OneThreadAndThreeThreadsGiveBitIdenticalResults()
    {
        var pr = Make(l: 5, p: 50);
        var a = ApproxEm.Run(pr.Patches, pr.X0, Settings(pr, 0.5, 3, threads: 1));
        var b = ApproxEm.Run(pr.Patches, pr.X0, Settings(pr, 0.5, 3, threads: 3));
        Assert.Equal(a.Coefficients, b.Coefficients);
        Assert.Equal(a.History.Select(h => h.LogLikelihood), b.History.Select(h => h.LogLikelihood));
        Assert.Equal(a.EmptyProbability, b.EmptyProbability);
    }

    [Fact]
    public void MinibatchIsSeededPerIterationAndHasFloorSPPatches()
    {
        var m1 = ApproxEm.Minibatch(101, 0.25, 7, 1, 3);
        Assert.Equal(25, m1.Length);
        Assert.Equal(m1, ApproxEm.Minibatch(101, 0.25, 7, 1, 3));
        Assert.NotEqual(m1, ApproxEm.Minibatch(101, 0.25, 7, 1, 4));
        Assert.NotEqual(m1, ApproxEm.Minibatch(101, 0.25, 8, 1, 3));
        Assert.Equal(m1.Distinct().Count(), m1.Length);
        Assert.Equal(Enumerable.Range(0, 101), ApproxEm.Minibatch(101, 1.0, 7, 0, 0));
    }

    [Fact]
    public void FrequencyMarchingStartsEachStageFromTheZeroPaddedEstimate()
    {
        var pr = Make(n: 10);
        var x0 = pr.X0.Take(6).ToArray();
        var s = Settings(pr, 1.0, 2, ns: new[] { 6, 10 });
        var run = ApproxEm.Run(pr.Patches, x0, s);
        Assert.Equal(6, run.History.Count);
        Assert.Equal(new[] { 1, 1, 1, 2, 2, 2 }, run.History.Select(h => h.Stage));
        Assert.Equal(10, run.Coefficients.Length);
        // Zero-padding keeps the volume: stage 2's iteration 0 evaluates the same images as stage 1's last row.
        Assert.Equal(run.History[2].LogLikelihood, run.History[3].LogLikelihood, 9);
    }

    [Fact]
    public void ToleranceStopsAStageEarly()
    {
        var pr = Make();
        var s = Settings(pr, 1.0, 50);
        s = new ApproxEmSettings { Stages = new[] { new ApproxEmStage(pr.Model(10), pr.Rotations, 1.0, 50, tolerance: 1e-3) }, NoiseVariance = 0.36, Seed = 5, Threads = 2 };
        var run = ApproxEm.Run(pr.Patches, pr.X0, s);
        Assert.True(run.History.Count < 51);
        var last = run.History[^1].LogLikelihoodPerPatch - run.History[^2].LogLikelihoodPerPatch;
        Assert.True(last <= 1e-3, $"stopped with a gain of {last}");
    }

    [Fact]
    public void InterruptedRunResumesFromItsCheckpointBitIdentically()
    {
        var pr = Make(l: 5, p: 40);
        string dir = Path.Combine(Path.GetTempPath(), "cryoemps-em-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string ck = Path.Combine(dir, "em.ckpt");
            var x0 = pr.X0.Take(6).ToArray();
            var full = ApproxEm.Run(pr.Patches, x0, Settings(pr, 0.5, 3, ns: new[] { 6, 10 }));

            // Cancel right after the checkpoint of stage 1, iteration 2.
            using var cts = new CancellationTokenSource();
            var progress = new SyncProgress(p => { if (p.Completed is { Stage: 1, Iteration: 2 }) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => ApproxEm.Run(pr.Patches, x0, Settings(pr, 0.5, 3, ck: ck, ns: new[] { 6, 10 }), progress, cts.Token));
            var saved = ApproxEmCheckpoint.Read(ck);
            Assert.Equal(0, saved.Stage); Assert.Equal(2, saved.Iteration);

            var resumed = ApproxEm.Run(pr.Patches, x0, Settings(pr, 0.5, 3, ck: ck, resume: true, threads: 1, ns: new[] { 6, 10 }));
            Assert.True(resumed.Resumed);
            Assert.Equal(3, resumed.ResumedRows);
            Assert.Equal(full.Coefficients, resumed.Coefficients);
            Assert.Equal(full.History.Select(h => h.LogLikelihood), resumed.History.Select(h => h.LogLikelihood));
            // The rows read back from the checkpoint keep what their E-steps used and the M-step times.
            Assert.Equal(full.History.Select(h => h.Precision), resumed.History.Select(h => h.Precision));
            Assert.Equal(saved.History.Select(h => h.MStepSeconds), resumed.History.Take(saved.History.Length).Select(h => h.MStepSeconds));
            Assert.All(resumed.History.Where(h => h.Iteration > 0), h => Assert.True(h.MStepSeconds > 0 && h.MStepSeconds <= h.Seconds));

            // A checkpoint from a different problem is refused.
            var ex = Assert.Throws<CheckpointMismatchException>(() => ApproxEm.Run(pr.Patches, x0, Settings(pr, 0.5, 3, seed: 99, ck: ck, resume: true, ns: new[] { 6, 10 })));
            Assert.Contains("seed", ex.Message);
            // … and so is one made with another -Precision setting.
            ex = Assert.Throws<CheckpointMismatchException>(() => ApproxEm.Run(pr.Patches, x0, Settings(pr, 0.5, 3, ck: ck, resume: true, ns: new[] { 6, 10 }, precision: EStepPrecision.Double)));
            Assert.Contains("precision=Double", ex.Message);
            var other = Make(l: 5, p: 40, seed: 2);
            Assert.Throws<CheckpointMismatchException>(() => ApproxEm.Run(other.Patches, x0, Settings(pr, 0.5, 3, ck: ck, resume: true, ns: new[] { 6, 10 })));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BadInputIsRefusedWithAClearMessage()
    {
        var pr = Make(l: 5, p: 10);
        var empty = new PatchSet(5, Array.Empty<double>(), Array.Empty<PatchOrigin>());
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => ApproxEm.Run(empty, pr.X0, Settings(pr, 1, 1))).Message);
        var wrongSize = new PatchSet(6, new double[36], new[] { new PatchOrigin(0, 0, 0) });
        Assert.Contains("6×6", Assert.Throws<ArgumentException>(() => ApproxEm.Run(wrongSize, pr.X0, Settings(pr, 1, 1))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ApproxEm.Run(pr.Patches, pr.X0, Settings(pr, 1, 1, sigma2: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ApproxEm.Run(pr.Patches, pr.X0, Settings(pr, 1, 1, sigma2: -1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ApproxEmStage(pr.Model(10), pr.Rotations, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ApproxEmStage(pr.Model(10), pr.Rotations, 1.5, 1));
        Assert.Throws<ArgumentException>(() => ApproxEm.Run(pr.Patches, new double[3], Settings(pr, 1, 1)));
    }
}
