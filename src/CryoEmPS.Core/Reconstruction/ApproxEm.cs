using System.Diagnostics;
using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;

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
    public static ApproxEmRun Run(PatchSet patches, double[] initialCoefficients, ApproxEmSettings settings,
        IProgress<ApproxEmProgress>? progress = null, CancellationToken token = default)
    {
        settings.Validate(patches, initialCoefficients);
        var stages = settings.Stages;
        var forward = settings.ForwardModel ?? new ForwardModel(patches.PatchSize);
        var key = ApproxEmCheckpoint.KeyOf(patches, initialCoefficients, settings);
        var history = new List<ApproxEmIteration>();
        int startStage = 0, startIteration = 0;
        double[] x = (double[])initialCoefficients.Clone();
        var shiftPrior = new ShiftPrior(forward, settings.EmptyProbability);
        // The objective (LL per patch) of the last two E-steps of the stage: the stopping rule compares them.
        double previousObjective = double.NegativeInfinity, objective = double.NaN;
        int resumedRows = 0;

        if (settings.Resume && settings.CheckpointPath != null && File.Exists(settings.CheckpointPath))
        {
            var checkpoint = ApproxEmCheckpoint.Read(settings.CheckpointPath);
            checkpoint.Verify(key);
            history.AddRange(checkpoint.History);
            startStage = checkpoint.Stage;
            startIteration = checkpoint.Iteration;
            x = checkpoint.Coefficients;
            shiftPrior = new ShiftPrior(forward, checkpoint.EmptyProbability);
            previousObjective = checkpoint.PreviousObjective;
            objective = checkpoint.Objective;
            resumedRows = checkpoint.History.Length;
            progress?.Report(new ApproxEmProgress
            {
                Stage = startStage + 1, StageCount = stages.Count, Iteration = startIteration, Phase = "resume",
                Message = $"Resuming from checkpoint at stage {startStage + 1}, iteration {startIteration} ({resumedRows} history rows).",
            });
        }

        using var blas = OpenBlasThreads.Single();
        var clock = new ProgressClock(stages, history.Count);

        for (int stageIndex = startStage; stageIndex < stages.Count; stageIndex++)
        {
            var stage = stages[stageIndex];
            var rotationPrior = new RotationPrior(stage.Rotations.Count);
            int iteration;
            EStepResult statistics;
            var stopwatch = Stopwatch.StartNew();
            if (resumedRows > 0 && stageIndex == startStage)
            {
                iteration = startIteration;
                if (!Continue(stage, iteration, previousObjective, objective))
                {
                    clock.SkipRestOfStage(stage, iteration);
                    continue;
                }

                // The checkpoint holds x_k and ρ_k but not the E-step's statistics: recompute them (deterministic).
                statistics = DoEStep(patches, settings, forward, stageIndex, iteration, x, shiftPrior, rotationPrior, progress, clock,
                    token, "E-step (recomputed after resume)");
            }
            else
            {
                if (stageIndex > 0)
                {
                    x = Lift(settings, stageIndex, x);
                }

                if (x.Length != stage.Model.ParameterCount)
                {
                    throw new ArgumentException(
                        $"Stage {stageIndex + 1} expects {stage.Model.ParameterCount} coefficients; the lifted vector has {x.Length}.");
                }

                iteration = 0;
                previousObjective = double.NegativeInfinity;
                statistics = DoEStep(patches, settings, forward, stageIndex, 0, x, shiftPrior, rotationPrior, progress, clock,
                    token, "E-step");
                objective = statistics.LogLikelihoodPerPatch;
                var row = Row(settings, stageIndex, 0, statistics, shiftPrior.EmptyProbability, stopwatch.Elapsed.TotalSeconds, x, 0);
                history.Add(row);
                clock.EStepDone();
                Checkpoint(settings, key, stageIndex, 0, x, shiftPrior.EmptyProbability, previousObjective, objective, history);
                Report(progress, stages, stageIndex, 0, "iteration", clock, row);
            }

            while (Continue(stage, iteration, previousObjective, objective))
            {
                stopwatch.Restart();
                token.ThrowIfCancellationRequested();
                progress?.Report(new ApproxEmProgress
                {
                    Stage = stageIndex + 1, StageCount = stages.Count, EllMax = stage.EllMax,
                    Iteration = iteration + 1, MaxIterations = stage.MaxIterations,
                    Phase = "M-step", Fraction = clock.Fraction, LastLogLikelihoodPerPatch = objective,
                });
                // M-step: x from the normal equations (eqs. 27–30), then the priors from the same posteriors (eq. 31).
                var equations = MStep.Build(stage.Model, stage.Rotations.Rotations, statistics, settings.Threads, token);
                var solution = MStep.Solve(equations);
                double mStepSeconds = stopwatch.Elapsed.TotalSeconds;
                if (solution.Regularized)
                {
                    progress?.Report(new ApproxEmProgress
                    {
                        Stage = stageIndex + 1, StageCount = stages.Count, Iteration = iteration + 1, Phase = "M-step",
                        Message = $"Stage {stageIndex + 1} iteration {iteration + 1}: C was not positive definite " +
                            $"(condition ≈ {solution.ConditionEstimate:g3}); added λI with λ = {solution.Regularization:g3}.",
                    });
                }

                x = solution.Coefficients;
                shiftPrior = shiftPrior.Updated(statistics, forward);
                rotationPrior = rotationPrior.Updated(statistics);
                iteration++;
                statistics = DoEStep(patches, settings, forward, stageIndex, iteration, x, shiftPrior, rotationPrior, progress, clock,
                    token, "E-step");
                previousObjective = objective;
                objective = statistics.LogLikelihoodPerPatch;
                clock.IterationSeconds[stageIndex] = stopwatch.Elapsed.TotalSeconds;
                var row = Row(settings, stageIndex, iteration, statistics, shiftPrior.EmptyProbability, stopwatch.Elapsed.TotalSeconds, x,
                    solution.Regularization, mStepSeconds);
                history.Add(row);
                clock.EStepDone();
                Checkpoint(settings, key, stageIndex, iteration, x, shiftPrior.EmptyProbability, previousObjective, objective, history);
                Report(progress, stages, stageIndex, iteration, "iteration", clock, row);
            }

            clock.SkipRestOfStage(stage, iteration);
        }

        return new ApproxEmRun(x, shiftPrior.EmptyProbability, history, stages.Count, resumedRows > 0, resumedRows);
    }

    private static bool Continue(ApproxEmStage stage, int iteration, double previousObjective, double objective)
        => iteration < stage.MaxIterations
            && (double.IsNegativeInfinity(previousObjective) || objective - previousObjective > stage.Tolerance);

    /// <summary>
    /// Counts the E-steps of the run (done and planned) for the progress fraction, and keeps each stage's last iteration time
    /// for the estimate of the time left.
    /// </summary>
    private sealed class ProgressClock
    {
        public ProgressClock(IReadOnlyList<ApproxEmStage> stages, int done)
        {
            Total = stages.Sum(s => s.MaxIterations + 1);
            Done = done;
            IterationSeconds = new double[stages.Count];
        }

        /// <summary>E-steps of the whole run if every stage runs to its MaxIterations.</summary>
        public int Total { get; }

        /// <summary>E-steps done or skipped (a stage that stops early counts its remaining ones as done).</summary>
        public int Done { get; private set; }

        /// <summary>Wall seconds of each stage's last full iteration (0 until one has run).</summary>
        public double[] IterationSeconds { get; }

        public double Fraction => (double)Done / Total;

        public void EStepDone() => Done++;

        /// <summary>A stage left at <paramref name="iteration"/>: its E-steps after that one will not run.</summary>
        public void SkipRestOfStage(ApproxEmStage stage, int iteration) => Done += stage.MaxIterations - iteration;
    }

    /// <summary>
    /// The minibatch J_k of stage <paramref name="stage"/>: ⌊S·P⌋ patch indices (ascending), drawn without replacement from a
    /// generator seeded by (seed, stage, k).
    /// </summary>
    public static int[] Minibatch(int patchCount, double stochasticFactor, int seed, int stage, int iteration)
    {
        int count = (int)Math.Floor(stochasticFactor * patchCount);
        if (count < 1)
        {
            throw new ArgumentException(
                $"⌊S·P⌋ = ⌊{stochasticFactor}·{patchCount}⌋ = 0 patches: raise the stochastic factor or supply more patches.");
        }
        var all = new int[patchCount];
        for (int i = 0; i < patchCount; i++)
        {
            all[i] = i;
        }
        if (count == patchCount)
        {
            return all;
        }
        var rng = new Random(IterationSeed(seed, stage, iteration));
        for (int i = 0; i < count; i++)
        {
            int j = i + rng.Next(patchCount - i);
            (all[i], all[j]) = (all[j], all[i]);
        }
        var minibatch = all.AsSpan(0, count).ToArray();
        Array.Sort(minibatch);
        return minibatch;
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

    private static double[] Lift(ApproxEmSettings settings, int stage, double[] x)
        => settings.Lift != null ? settings.Lift(stage, x) : ZeroPad(x, settings.Stages[stage].Model.ParameterCount);

    private static EStepResult DoEStep(PatchSet patches, ApproxEmSettings settings, ForwardModel forward, int stageIndex, int iteration,
        double[] x, ShiftPrior shiftPrior, RotationPrior rotationPrior, IProgress<ApproxEmProgress>? progress, ProgressClock clock,
        CancellationToken token, string phase)
    {
        var stage = settings.Stages[stageIndex];
        // The E-step at k = MaxIterations ends the stage: no M-step will use its statistics, only its LL.
        bool likelihoodOnly = iteration >= stage.MaxIterations;
        var minibatch = Minibatch(patches.Count, stage.StochasticFactor, settings.Seed, stageIndex, iteration);
        var stopwatch = Stopwatch.StartNew();
        long lastReport = 0;
        Action<double>? report = progress == null ? null : fraction =>
        {
            long now = stopwatch.ElapsedMilliseconds;
            long previous = Interlocked.Read(ref lastReport);
            if (now - previous < 250 || Interlocked.CompareExchange(ref lastReport, now, previous) != previous)
            {
                return;
            }

            double elapsed = stopwatch.Elapsed.TotalSeconds;
            double remainingThis = fraction > 0.01 ? elapsed / fraction - elapsed : -1;
            double remainingRest = 0;
            for (int i = stageIndex; i < settings.Stages.Count; i++)
            {
                int left = i == stageIndex ? settings.Stages[i].MaxIterations - iteration : settings.Stages[i].MaxIterations + 1;
                double perIteration = clock.IterationSeconds[i] > 0
                    ? clock.IterationSeconds[i]
                    : (fraction > 0.01 ? elapsed / fraction : 0);
                remainingRest += Math.Max(0, left) * perIteration;
            }

            progress.Report(new ApproxEmProgress
            {
                Stage = stageIndex + 1, StageCount = settings.Stages.Count, EllMax = stage.EllMax,
                Iteration = iteration, MaxIterations = stage.MaxIterations,
                Phase = phase, Fraction = (clock.Done + fraction) / clock.Total,
                SecondsRemaining = remainingThis < 0 ? -1 : (int)(remainingThis + remainingRest),
            });
        };
        var options = new EStepOptions
        {
            Threads = settings.Threads, FftSize = settings.FftSize, PosteriorCutoff = settings.PosteriorCutoff, Progress = report,
            LikelihoodOnly = likelihoodOnly, Precision = settings.Precision,
        };
        return EStep.Run(forward, stage.Model, stage.Rotations.Rotations, x, patches, minibatch, settings.NoiseVariance, shiftPrior,
            rotationPrior, options, token);
    }

    private static ApproxEmIteration Row(ApproxEmSettings settings, int stageIndex, int k, EStepResult statistics, double v, double seconds,
        double[] x, double lambda, double mStepSeconds = 0)
    {
        var stage = settings.Stages[stageIndex];
        double shell = double.NaN;
        int? below = null;
        if (settings.Reference != null && settings.Synthesize != null)
        {
            var fsc = Fsc.Compute(settings.Reference, settings.Synthesize(stageIndex, x));
            shell = fsc.CrossingShell;
            below = fsc.FirstShellBelow;
        }
        return new ApproxEmIteration
        {
            Stage = stageIndex + 1, EllMax = stage.EllMax, RotationCount = stage.Rotations.Count, StochasticFactor = stage.StochasticFactor,
            Iteration = k, PatchCount = statistics.Patches.Length, LogLikelihood = statistics.LogLikelihood,
            LogLikelihoodPerPatch = statistics.LogLikelihoodPerPatch, EmptyProbability = v,
            Seconds = seconds, MStepSeconds = mStepSeconds, FscShell = shell, FscFirstShellBelow = below, Regularization = lambda,
            SkippedFraction = statistics.PairCount == 0 ? 0 : (double)statistics.SkippedPairs / statistics.PairCount,
            Precision = statistics.Precision,
        };
    }

    private static void Report(IProgress<ApproxEmProgress>? progress, IReadOnlyList<ApproxEmStage> stages, int stageIndex, int iteration,
        string phase, ProgressClock clock, ApproxEmIteration row)
    {
        if (progress == null)
        {
            return;
        }

        double rest = 0;
        for (int i = stageIndex; i < stages.Count; i++)
        {
            int left = i == stageIndex ? stages[i].MaxIterations - iteration : stages[i].MaxIterations + 1;
            rest += Math.Max(0, left) * (clock.IterationSeconds[i] > 0 ? clock.IterationSeconds[i] : row.Seconds);
        }

        progress.Report(new ApproxEmProgress
        {
            Stage = stageIndex + 1, StageCount = stages.Count, EllMax = stages[stageIndex].EllMax,
            Iteration = iteration, MaxIterations = stages[stageIndex].MaxIterations,
            Phase = phase, Fraction = clock.Fraction, LastLogLikelihoodPerPatch = row.LogLikelihoodPerPatch,
            SecondsRemaining = (int)rest, Completed = row,
        });
    }

    private static void Checkpoint(ApproxEmSettings settings, ApproxEmCheckpointKey key, int stageIndex, int k, double[] x, double v,
        double previousObjective, double objective, List<ApproxEmIteration> history)
    {
        if (settings.CheckpointPath == null)
        {
            return;
        }
        new ApproxEmCheckpoint(key, stageIndex, k, x, v, previousObjective, objective, history.ToArray()).Write(settings.CheckpointPath);
    }
}
