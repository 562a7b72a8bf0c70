using System.Diagnostics;
using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// Algorithm 1 (the stochastic approximate EM with frequency marching), Sections 3.1–3.4.
/// Per stage: E-step on minibatch J₀ with x₀ gives LL₀; while (LL_k − LL_{k−1}) &gt; ε and k &lt; N_it: M-step (x, then
/// ρ from the same posteriors), draw J_{k+1}, E-step → LL_{k+1}. The next stage starts from these coefficients
/// lifted (zero-padded) to its ℓmax. LL is the minibatch log-likelihood; its per-patch mean drives the stopping
/// rule. J_k is ⌊S·P⌋ patches drawn without replacement by a generator seeded from (seed, stage, k), so a run is a
/// pure function of its inputs; a checkpoint is written atomically after every E-step, and -Resume redoes the one
/// E-step whose statistics a checkpoint does not store, giving bit-identical results.
/// </summary>
public static class ApproxEm
{
    public static ApproxEmRun Run(PatchSet patches, double[] initialCoefficients, ApproxEmSettings settings, IProgress<ApproxEmProgress>? progress = null, CancellationToken token = default)
    {
        settings.Validate(patches, initialCoefficients);
        var stages = settings.Stages;
        var key = ApproxEmCheckpoint.KeyOf(patches, initialCoefficients, settings);
        var history = new List<ApproxEmIteration>();
        int startStage = 0, startK = 0;
        double[] x = (double[])initialCoefficients.Clone();
        double v = settings.EmptyProbability, prevQ = double.NegativeInfinity, currQ = double.NaN;
        bool resumed = false; int resumedRows = 0;

        if (settings.Resume && settings.CheckpointPath != null && File.Exists(settings.CheckpointPath))
        {
            var ck = ApproxEmCheckpoint.Read(settings.CheckpointPath);
            ck.Verify(key);
            history.AddRange(ck.History);
            startStage = ck.Stage; startK = ck.Iteration; x = ck.Coefficients; v = ck.EmptyProbability; prevQ = ck.PreviousObjective; currQ = ck.Objective;
            resumed = true; resumedRows = ck.History.Length;
            progress?.Report(new ApproxEmProgress { Stage = startStage + 1, StageCount = stages.Count, Iteration = startK, Phase = "resume", Message = $"Resuming from checkpoint at stage {startStage + 1}, iteration {startK} ({resumedRows} history rows)." });
        }

        using var blas = OpenBlasThreads.Single();
        int totalE = stages.Sum(s => s.MaxIterations + 1);
        int doneE = history.Count;
        var lastSeconds = new double[stages.Count];

        for (int si = startStage; si < stages.Count; si++)
        {
            var stage = stages[si];
            var rot = stage.Rotations.Rotations;
            int k;
            EStepResult e;
            var sw = Stopwatch.StartNew();
            bool resumeHere = resumed && si == startStage;
            if (resumeHere)
            {
                k = startK;
                if (!Continue(stage, k, prevQ, currQ)) { doneE += stage.MaxIterations + 1 - (k + 1); continue; }
                // The checkpoint holds x_k and ρ_k but not the E-step's statistics: recompute them (deterministic).
                e = DoEStep(patches, settings, si, k, x, v, progress, totalE, doneE, lastSeconds, token, "E-step (recomputed after resume)");
            }
            else
            {
                if (si > 0) x = Lift(settings, si, x);
                if (x.Length != stage.Model.ParameterCount) throw new ArgumentException($"Stage {si + 1} expects {stage.Model.ParameterCount} coefficients; the lifted vector has {x.Length}.");
                k = 0; prevQ = double.NegativeInfinity;
                e = DoEStep(patches, settings, si, 0, x, v, progress, totalE, doneE, lastSeconds, token, "E-step");
                currQ = e.LogLikelihoodPerPatch;
                var row = Row(settings, si, 0, e, v, sw.Elapsed.TotalSeconds, x, 0);
                history.Add(row); doneE++;
                Checkpoint(settings, key, si, 0, x, v, prevQ, currQ, history);
                Report(progress, stages, si, 0, "iteration", doneE, totalE, lastSeconds, row);
            }

            while (Continue(stage, k, prevQ, currQ))
            {
                sw.Restart();
                token.ThrowIfCancellationRequested();
                progress?.Report(new ApproxEmProgress { Stage = si + 1, StageCount = stages.Count, EllMax = stage.EllMax, Iteration = k + 1, MaxIterations = stage.MaxIterations, Phase = "M-step", Fraction = (double)doneE / totalE, LastLogLikelihoodPerPatch = currQ });
                var eq = MStep.Build(stage.Model, rot, e, settings.Threads, token);
                var sol = MStep.Solve(eq);
                double mSeconds = sw.Elapsed.TotalSeconds;
                if (sol.Regularized)
                    progress?.Report(new ApproxEmProgress { Stage = si + 1, StageCount = stages.Count, Iteration = k + 1, Phase = "M-step", Message = $"Stage {si + 1} iteration {k + 1}: C was not positive definite (condition ≈ {sol.ConditionEstimate:g3}); added λI with λ = {sol.Regularization:g3}." });
                x = sol.Coefficients;
                v = e.EmptyPosterior;
                k++;
                e = DoEStep(patches, settings, si, k, x, v, progress, totalE, doneE, lastSeconds, token, "E-step");
                prevQ = currQ; currQ = e.LogLikelihoodPerPatch;
                lastSeconds[si] = sw.Elapsed.TotalSeconds;
                var row = Row(settings, si, k, e, v, sw.Elapsed.TotalSeconds, x, sol.Regularization, mSeconds);
                history.Add(row); doneE++;
                Checkpoint(settings, key, si, k, x, v, prevQ, currQ, history);
                Report(progress, stages, si, k, "iteration", doneE, totalE, lastSeconds, row);
            }
            doneE += stage.MaxIterations - k;
        }
        return new ApproxEmRun(x, v, history, stages.Count, resumedRows > 0, resumedRows);
    }

    private static bool Continue(ApproxEmStage stage, int k, double prevQ, double currQ)
        => k < stage.MaxIterations && (double.IsNegativeInfinity(prevQ) || currQ - prevQ > stage.Tolerance);

    /// <summary>The minibatch J_k of stage <paramref name="stage"/>: ⌊S·P⌋ patch indices (ascending), drawn without replacement from a generator seeded by (seed, stage, k).</summary>
    public static int[] Minibatch(int patchCount, double stochasticFactor, int seed, int stage, int iteration)
    {
        int count = (int)Math.Floor(stochasticFactor * patchCount);
        if (count < 1) throw new ArgumentException($"⌊S·P⌋ = ⌊{stochasticFactor}·{patchCount}⌋ = 0 patches: raise the stochastic factor or supply more patches.");
        var all = new int[patchCount];
        for (int i = 0; i < patchCount; i++) all[i] = i;
        if (count == patchCount) return all;
        var rng = new Random(IterationSeed(seed, stage, iteration));
        for (int i = 0; i < count; i++) { int j = i + rng.Next(patchCount - i); (all[i], all[j]) = (all[j], all[i]); }
        var mb = all.AsSpan(0, count).ToArray();
        Array.Sort(mb);
        return mb;
    }

    /// <summary>A 31-bit seed from (seed, stage, iteration) by SplitMix64 — the only randomness of a run.</summary>
    public static int IterationSeed(int seed, int stage, int iteration)
    {
        ulong z = SplitMix64.Mix((ulong)(uint)seed * SplitMix64.Gamma ^ ((ulong)(uint)stage << 32 | (uint)iteration));
        return (int)(z & 0x7FFFFFFF);
    }

    /// <summary>Zero-padding by index (the default lift, right for models whose parameters are nested prefixes).</summary>
    public static double[] ZeroPad(double[] x, int n)
    {
        var y = new double[n];
        Array.Copy(x, y, Math.Min(n, x.Length));
        return y;
    }

    private static double[] Lift(ApproxEmSettings s, int stage, double[] x)
        => s.Lift != null ? s.Lift(stage, x) : ZeroPad(x, s.Stages[stage].Model.ParameterCount);

    private static EStepResult DoEStep(PatchSet patches, ApproxEmSettings s, int si, int k, double[] x, double v, IProgress<ApproxEmProgress>? progress,
        int totalE, int doneE, double[] lastSeconds, CancellationToken token, string phase)
    {
        var stage = s.Stages[si];
        // The E-step at k = MaxIterations ends the stage: no M-step will use its statistics, only its LL.
        bool likelihoodOnly = k >= stage.MaxIterations;
        var mb = Minibatch(patches.Count, stage.StochasticFactor, s.Seed, si, k);
        var sw = Stopwatch.StartNew();
        long lastTicks = 0;
        Action<double>? cb = progress == null ? null : f =>
        {
            long now = sw.ElapsedMilliseconds;
            long prev = Interlocked.Read(ref lastTicks);
            if (now - prev < 250 || Interlocked.CompareExchange(ref lastTicks, now, prev) != prev) return;
            double elapsed = sw.Elapsed.TotalSeconds;
            double remainingThis = f > 0.01 ? elapsed / f - elapsed : -1;
            double remainingRest = 0;
            for (int i = si; i < s.Stages.Count; i++)
            {
                int left = i == si ? s.Stages[i].MaxIterations - k : s.Stages[i].MaxIterations + 1;
                double per = lastSeconds[i] > 0 ? lastSeconds[i] : (f > 0.01 ? elapsed / f : 0);
                remainingRest += Math.Max(0, left) * per;
            }
            progress.Report(new ApproxEmProgress
            {
                Stage = si + 1, StageCount = s.Stages.Count, EllMax = stage.EllMax, Iteration = k, MaxIterations = stage.MaxIterations, Phase = phase,
                Fraction = (doneE + f) / totalE, SecondsRemaining = remainingThis < 0 ? -1 : (int)(remainingThis + remainingRest),
            });
        };
        var opt = new EStepOptions { Threads = s.Threads, FftSize = s.FftSize, PosteriorCutoff = s.PosteriorCutoff, Progress = cb, LikelihoodOnly = likelihoodOnly, Precision = s.Precision };
        return EStep.Run(stage.Model, stage.Rotations.Rotations, x, patches, mb, s.NoiseVariance, v, opt, token);
    }

    private static ApproxEmIteration Row(ApproxEmSettings s, int si, int k, EStepResult e, double v, double seconds, double[] x, double lambda, double mSeconds = 0)
    {
        var st = s.Stages[si];
        double shell = double.NaN; int? below = null;
        if (s.Reference != null && s.Synthesize != null)
        {
            var fsc = Fsc.Compute(s.Reference, s.Synthesize(si, x));
            shell = fsc.CrossingShell; below = fsc.FirstShellBelow;
        }
        return new ApproxEmIteration
        {
            Stage = si + 1, EllMax = st.EllMax, RotationCount = st.Rotations.Count, StochasticFactor = st.StochasticFactor, Iteration = k,
            PatchCount = e.Patches.Length, LogLikelihood = e.LogLikelihood, LogLikelihoodPerPatch = e.LogLikelihoodPerPatch, EmptyProbability = v,
            Seconds = seconds, MStepSeconds = mSeconds, FscShell = shell, FscFirstShellBelow = below, Regularization = lambda,
            SkippedFraction = e.PairCount == 0 ? 0 : (double)e.SkippedPairs / e.PairCount, Precision = e.Precision,
        };
    }

    private static void Report(IProgress<ApproxEmProgress>? progress, IReadOnlyList<ApproxEmStage> stages, int si, int k, string phase, int doneE, int totalE, double[] lastSeconds, ApproxEmIteration row)
    {
        if (progress == null) return;
        double rest = 0;
        for (int i = si; i < stages.Count; i++)
        {
            int left = i == si ? stages[i].MaxIterations - k : stages[i].MaxIterations + 1;
            rest += Math.Max(0, left) * (lastSeconds[i] > 0 ? lastSeconds[i] : row.Seconds);
        }
        progress.Report(new ApproxEmProgress
        {
            Stage = si + 1, StageCount = stages.Count, EllMax = stages[si].EllMax, Iteration = k, MaxIterations = stages[si].MaxIterations, Phase = phase,
            Fraction = (double)doneE / totalE, LastLogLikelihoodPerPatch = row.LogLikelihoodPerPatch, SecondsRemaining = (int)rest, Completed = row,
        });
    }

    private static void Checkpoint(ApproxEmSettings s, ApproxEmCheckpointKey key, int si, int k, double[] x, double v, double prevQ, double currQ, List<ApproxEmIteration> history)
    {
        if (s.CheckpointPath == null) return;
        new ApproxEmCheckpoint(key, si, k, x, v, prevQ, currQ, history.ToArray()).Write(s.CheckpointPath);
    }
}
