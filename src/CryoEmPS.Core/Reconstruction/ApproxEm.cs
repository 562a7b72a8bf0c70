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
        var run = new Driver(patches, initialCoefficients, settings, progress, token);
        int startStage = 0, startIteration = 0;
        if (settings.Resume && settings.CheckpointPath != null && File.Exists(settings.CheckpointPath))
        {
            (startStage, startIteration) = run.Resume(ApproxEmCheckpoint.Read(settings.CheckpointPath));
        }

        using var blas = OpenBlasThreads.Single();
        for (int stageIndex = startStage; stageIndex < settings.Stages.Count; stageIndex++)
        {
            run.RunStage(stageIndex, run.ResumedRows > 0 && stageIndex == startStage ? startIteration : null);
        }

        return new ApproxEmRun(run.X, run.ShiftPrior.EmptyProbability, run.History, settings.Stages.Count, run.ResumedRows > 0,
            run.ResumedRows);
    }

    /// <summary>The state of one run of Algorithm 1: x_k, the priors, the last two objectives and the history, and its steps.</summary>
    private sealed class Driver
    {
        private readonly PatchSet _patches;
        private readonly ApproxEmSettings _settings;
        private readonly ForwardModel _forward;
        private readonly ApproxEmCheckpointKey _key;
        private readonly IProgress<ApproxEmProgress>? _progress;
        private readonly CancellationToken _token;
        // The objective (LL per patch) of the last two E-steps of the stage: the stopping rule compares them.
        private double _previousObjective = double.NegativeInfinity, _objective = double.NaN;

        public Driver(PatchSet patches, double[] initialCoefficients, ApproxEmSettings settings, IProgress<ApproxEmProgress>? progress,
            CancellationToken token)
        {
            _patches = patches;
            _settings = settings;
            _forward = settings.ForwardModel ?? new ForwardModel(patches.PatchSize);
            _key = ApproxEmCheckpoint.KeyOf(patches, initialCoefficients, settings, _forward);
            _progress = progress;
            _token = token;
            X = (double[])initialCoefficients.Clone();
            ShiftPrior = new ShiftPrior(_forward, settings.EmptyProbability);
            Clock = new ProgressClock(settings.Stages);
        }

        public double[] X { get; private set; }
        public ShiftPrior ShiftPrior { get; private set; }
        public List<ApproxEmIteration> History { get; } = new();
        public int ResumedRows { get; private set; }
        public ProgressClock Clock { get; }

        /// <summary>Takes the state of a checkpoint of the same problem; returns the (stage, iteration) to continue from.</summary>
        public (int Stage, int Iteration) Resume(ApproxEmCheckpoint checkpoint)
        {
            checkpoint.Verify(_key);
            History.AddRange(checkpoint.History);
            X = checkpoint.Coefficients;
            ShiftPrior = new ShiftPrior(_forward, checkpoint.EmptyProbability);
            _previousObjective = checkpoint.PreviousObjective;
            _objective = checkpoint.Objective;
            ResumedRows = checkpoint.History.Length;
            Clock.EStepsDone(ResumedRows);
            _progress?.Report(new ApproxEmProgress
            {
                Stage = checkpoint.Stage + 1, StageCount = _settings.Stages.Count, Iteration = checkpoint.Iteration, Phase = "resume",
                Message = $"Resuming from checkpoint at stage {checkpoint.Stage + 1}, iteration {checkpoint.Iteration} ({ResumedRows} history rows).",
            });
            return (checkpoint.Stage, checkpoint.Iteration);
        }

        /// <summary>
        /// One stage: the E-step of its starting volume (x lifted to the stage's ℓmax), then M-step + E-step while the stopping
        /// rule allows. <paramref name="resumeIteration"/>: continue a checkpointed stage at that iteration instead.
        /// </summary>
        public void RunStage(int stageIndex, int? resumeIteration)
        {
            var stage = _settings.Stages[stageIndex];
            var rotationPrior = new RotationPrior(stage.Rotations.Count);
            var stopwatch = Stopwatch.StartNew();
            int iteration;
            EStepResult statistics;
            if (resumeIteration is int resumeAt)
            {
                iteration = resumeAt;
                if (!Continue(stage, iteration, _previousObjective, _objective))
                {
                    Clock.SkipRestOfStage(stage, iteration);
                    return;
                }

                // The checkpoint holds x_k and ρ_k but not the E-step's statistics: recompute them (deterministic).
                statistics = EStep(stageIndex, iteration, rotationPrior, "E-step (recomputed after resume)");
            }
            else
            {
                iteration = 0;
                statistics = StartStage(stageIndex, rotationPrior, stopwatch);
            }

            while (Continue(stage, iteration, _previousObjective, _objective))
            {
                stopwatch.Restart();
                statistics = Iterate(stageIndex, ++iteration, statistics, ref rotationPrior, stopwatch);
            }

            Clock.SkipRestOfStage(stage, iteration);
        }

        /// <summary>Iteration 0 of a stage: x lifted to the stage's parameter space and its E-step (LL₀).</summary>
        private EStepResult StartStage(int stageIndex, RotationPrior rotationPrior, Stopwatch stopwatch)
        {
            var stage = _settings.Stages[stageIndex];
            if (stageIndex > 0)
            {
                X = Lift(_settings, stageIndex, X);
            }

            if (X.Length != stage.Model.ParameterCount)
            {
                throw new ArgumentException(
                    $"Stage {stageIndex + 1} expects {stage.Model.ParameterCount} coefficients; the lifted vector has {X.Length}.");
            }

            _previousObjective = double.NegativeInfinity;
            var statistics = EStep(stageIndex, 0, rotationPrior, "E-step");
            _objective = statistics.LogLikelihoodPerPatch;
            Record(stageIndex, 0, statistics, stopwatch.Elapsed.TotalSeconds, 0, 0);
            return statistics;
        }

        /// <summary>
        /// Iteration k ≥ 1: the M-step from the last E-step's statistics (x from the normal equations, eqs. 27–30; then the priors
        /// from the same posteriors, eq. 31), and the E-step of the new x on minibatch J_k.
        /// </summary>
        private EStepResult Iterate(int stageIndex, int iteration, EStepResult statistics, ref RotationPrior rotationPrior,
            Stopwatch stopwatch)
        {
            var stage = _settings.Stages[stageIndex];
            _token.ThrowIfCancellationRequested();
            _progress?.Report(new ApproxEmProgress
            {
                Stage = stageIndex + 1, StageCount = _settings.Stages.Count, EllMax = stage.EllMax,
                Iteration = iteration, MaxIterations = stage.MaxIterations,
                Phase = "M-step", Fraction = Clock.Fraction, LastLogLikelihoodPerPatch = _objective,
            });
            var equations = MStep.Build(stage.Model, stage.Rotations.Rotations, statistics, _settings.Threads, _token);
            var solution = MStep.Solve(equations);
            double mStepSeconds = stopwatch.Elapsed.TotalSeconds;
            if (solution.Regularized)
            {
                _progress?.Report(new ApproxEmProgress
                {
                    Stage = stageIndex + 1, StageCount = _settings.Stages.Count, Iteration = iteration, Phase = "M-step",
                    Message = $"Stage {stageIndex + 1} iteration {iteration}: C was not positive definite " +
                        $"(condition ≈ {solution.ConditionEstimate:g3}); added λI with λ = {solution.Regularization:g3}.",
                });
            }

            X = solution.Coefficients;
            ShiftPrior = ShiftPrior.Updated(statistics);
            rotationPrior = rotationPrior.Updated(statistics);
            var next = EStep(stageIndex, iteration, rotationPrior, "E-step");
            _previousObjective = _objective;
            _objective = next.LogLikelihoodPerPatch;
            Clock.IterationSeconds[stageIndex] = stopwatch.Elapsed.TotalSeconds;
            Record(stageIndex, iteration, next, stopwatch.Elapsed.TotalSeconds, solution.Regularization, mStepSeconds);
            return next;
        }

        private EStepResult EStep(int stageIndex, int iteration, RotationPrior rotationPrior, string phase)
            => DoEStep(_patches, _settings, _forward, stageIndex, iteration, X, ShiftPrior, rotationPrior, _progress, Clock, _token, phase);

        /// <summary>A history row for this E-step, the checkpoint, and the progress report.</summary>
        private void Record(int stageIndex, int iteration, EStepResult statistics, double seconds, double regularization,
            double mStepSeconds)
        {
            var row = Row(_settings, stageIndex, iteration, statistics, ShiftPrior.EmptyProbability, seconds, X, regularization,
                mStepSeconds);
            History.Add(row);
            Clock.EStepDone();
            Checkpoint(_settings, _key, stageIndex, iteration, X, ShiftPrior.EmptyProbability, _previousObjective, _objective, History);
            Report(_progress, _settings.Stages, stageIndex, iteration, "iteration", Clock, row);
        }
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
        public ProgressClock(IReadOnlyList<ApproxEmStage> stages)
        {
            Total = stages.Sum(stage => stage.MaxIterations + 1);
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

        /// <summary>E-steps done before (the history rows of a checkpoint).</summary>
        public void EStepsDone(int count) => Done += count;

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
        var rng = new SeededRandom(IterationSeed(seed, stage, iteration));
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
