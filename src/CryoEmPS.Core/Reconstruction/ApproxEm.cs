using System.Diagnostics;
using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Volumes;

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
        // Spread over processes, rank 0 alone writes the checkpoint, holds its lock and reports progress; every rank reads it.
        var world = settings.World;
        bool first = world.Rank == 0;
        using var checkpointLock = settings.CheckpointPath == null || !first ? null : FileLock.Acquire(settings.CheckpointPath, "The checkpoint");
        try
        {
            return RunOnThisRank(patches, initialCoefficients, settings, first ? progress : null, token);
        }
        catch (Exception ex) when (world.Size > 1 && ex is not OperationCanceledException)
        {
            // The other ranks would wait for this one inside the next sum: end the job with the error.
            world.Fail(ex);
            throw;
        }
    }

    private static ApproxEmRun RunOnThisRank(PatchSet patches, double[] initialCoefficients, ApproxEmSettings settings,
        IProgress<ApproxEmProgress>? progress, CancellationToken token)
    {
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
            if (settings.AdaptiveMarching && !run.Improved(stageIndex))
            {
                break;
            }
        }

        return run.Result();
    }

    /// <summary>
    /// The state of one run of Algorithm 1: its chains (one, or the two gold-standard halves run in lock step), the last two
    /// objectives, the history and the best iterate, and its steps.
    /// </summary>
    private sealed class Driver
    {
        private readonly PatchSet _patches;
        private readonly ApproxEmSettings _settings;
        private readonly ForwardModel _forward;
        private readonly ApproxEmCheckpointKey _key;
        private readonly IProgress<ApproxEmProgress>? _progress;
        private readonly CancellationToken _token;
        private readonly ApproxEmChain[] _chains;
        private readonly ICommunicator _world;
        // The communicator's totals at the last history row (each row reports what its iteration added).
        private (double Seconds, long Bytes) _communicated;
        // The objective (LL per patch) of the last two E-steps of the stage: the stopping rule compares them.
        private double _previousObjective = double.NegativeInfinity, _objective = double.NaN;
        // The iterate to return by the criterion (held-out patches, else the half-map estimate): its row, stage and every chain's x.
        private int _bestRow = -1;
        private int _bestStage = -1;
        private double[][]? _bestX;
        // With the prior and half-sets: the unregularised half solutions of the last M-step, whose FSC the History reports.
        private double[][]? _halfMapX;
        // Per stage: the attenuation g_ℓ its rotation grid imposes (for the half-map estimate), computed once.
        private readonly double[]?[] _gridBlur;
        // With held-out patches: their scores row by row, the top row and the row to return (rebuilt from the history on resume).
        private HeldOutSelection _heldOut = new();

        public Driver(PatchSet patches, double[] initialCoefficients, ApproxEmSettings settings, IProgress<ApproxEmProgress>? progress,
            CancellationToken token)
        {
            _patches = patches;
            _settings = settings;
            _forward = settings.ForwardModel ?? new ForwardModel(patches.PatchSize);
            _key = ApproxEmCheckpoint.KeyOf(patches, initialCoefficients, settings, _forward);
            _progress = progress;
            _token = token;
            _world = settings.World;
            _communicated = (_world.SecondsCommunicating, _world.BytesMoved);
            // Held-out patches are in no chain: neither the one reconstruction nor either half is fitted to them.
            var halves = settings.HalfSets?.Without(settings.HeldOut);
            var members = halves == null
                ? new[] { HeldOutSet.Rest(patches.Count, settings.HeldOut) }
                : new[] { halves.First, halves.Second };
            // Each chain scores every members.Length-th held-out patch (they are in no chain's fit, so any share is fair).
            var heldOut = settings.HeldOut ?? Array.Empty<int>();
            _chains = members.Select((m, c) => new ApproxEmChain(c, m, ChainSeed(settings.Seed, c), (double[])initialCoefficients.Clone(),
                new ShiftPrior(_forward, settings.EmptyProbability), settings.NoiseVariance)
            {
                HeldOut = heldOut.Where((_, i) => i % members.Length == c).ToArray(),
            }).ToArray();
            Clock = new ProgressClock(settings.Stages);
            _gridBlur = new double[]?[settings.Stages.Count];
        }

        public List<ApproxEmIteration> History { get; } = new();
        public int ResumedRows { get; private set; }
        public ProgressClock Clock { get; }
        private bool Halves => _chains.Length == 2;

        /// <summary>
        /// Adaptive marching: true when stage <paramref name="stageIndex"/> produced the best map so far by the criterion (so the data
        /// support its ℓmax and the next stage may raise it): with held-out patches the highest score so far (not merely one within
        /// its standard error); the first stage always counts as an improvement.
        /// </summary>
        public bool Improved(int stageIndex)
            => stageIndex == 0 || (_settings.HeldOut != null
                ? _heldOut.Top >= 0 && History[_heldOut.Top].Stage == stageIndex + 1
                : _bestStage == stageIndex);

        /// <summary>The result: the best iterate by the criterion (the last one without one), in the last stage's parameter space.</summary>
        public ApproxEmRun Result()
        {
            double[][] x = _bestX != null ? _bestX : _chains.Select(chain => chain.X).ToArray();
            int stage = _bestX != null ? _bestStage : _settings.Stages.Count - 1;
            x = x.Select(xi => LiftTo(stage, _settings.Stages.Count - 1, xi)).ToArray();
            int best = _bestRow >= 0 ? _bestRow : History.Count - 1;
            if (best >= 0)
            {
                History[best].Best = true;
            }

            // The map each stage handed on (or returned): the best row up to its end, or its last row without a criterion.
            var stageResults = new int[_settings.Stages.Count];
            for (int stageIndex = 0; stageIndex < stageResults.Length; stageIndex++)
            {
                int number = stageIndex + 1;
                int last = History.FindLastIndex(row => row.Stage == number);
                int bestSoFar = -1;
                if (_settings.HeldOut != null && last >= 0)
                {
                    bestSoFar = _heldOut.BestAfter[last];
                }

                for (int i = 0; _settings.HeldOut == null && Halves && i <= last; i++)
                {
                    if (Candidate(i) && (bestSoFar < 0 || !(Criterion(History[i]) < Criterion(History[bestSoFar]))))
                    {
                        bestSoFar = i;
                    }
                }

                stageResults[stageIndex] = bestSoFar >= 0 ? bestSoFar : last;
            }

            double v = _chains.Average(chain => chain.ShiftPrior.EmptyProbability);
            double noiseVariance = _chains.Average(chain => chain.NoiseVariance);
            return new ApproxEmRun(Combined(x), v, History, _settings.Stages.Count, ResumedRows > 0, ResumedRows)
            {
                PatchEmptyProbability = PatchEmptyProbability(),
                HalfCoefficients = Halves ? x : null,
                NoiseVariance = noiseVariance,
                BestRow = best,
                StageResultRows = stageResults,
            };
        }

        /// <summary>
        /// Per patch, the posterior probability that it is empty from the last stage's statistics: every chain's M-step statistics
        /// (incremental EM: each block's last visit; minibatch M-step: the last minibatch) and its held-out scoring; NaN for a patch
        /// in none of them.
        /// </summary>
        private double[] PatchEmptyProbability()
        {
            var empty = new double[_patches.Count];
            Array.Fill(empty, double.NaN);
            foreach (var chain in _chains)
            {
                var parts = chain.MStepParts(_settings.MStep).AsEnumerable();
                if (chain.HeldOutResult != null)
                {
                    parts = parts.Append(chain.HeldOutResult);
                }

                foreach (var part in parts)
                {
                    for (int j = 0; j < part.Patches.Length; j++)
                    {
                        empty[part.Patches[j]] = part.PatchEmptyPosterior[j];
                    }
                }
            }

            return empty;
        }

        /// <summary>Takes the state of a checkpoint of the same problem; returns the (stage, iteration) to continue from.</summary>
        public (int Stage, int Iteration) Resume(ApproxEmCheckpoint checkpoint)
        {
            checkpoint.Verify(_key);
            ApproxEmCheckpointValidation.ValidateFor(checkpoint, _settings, _settings.CheckpointPath);
            History.AddRange(checkpoint.History);
            _heldOut = new HeldOutSelection();
            foreach (var row in _settings.HeldOut != null ? checkpoint.History : Array.Empty<ApproxEmIteration>())
            {
                _heldOut.Add(row.Iteration, row.HeldOutPatchLogLikelihood, row.Iteration > 0);
            }

            var state = checkpoint.State;
            if (state.Chains.Length != _chains.Length)
            {
                throw new CheckpointMismatchException(
                    $"The checkpoint holds {state.Chains.Length} reconstruction(s); this run has {_chains.Length} (half-sets differ).");
            }

            _previousObjective = checkpoint.PreviousObjective;
            _objective = checkpoint.Objective;
            _bestRow = state.BestRow;
            _bestStage = state.BestStage;
            _bestX = state.BestX;
            var stage = _settings.Stages[checkpoint.Stage];
            var rotationPrior = new RotationPrior(stage.Rotations.Count);
            // A stage that ends here needs no statistics: the next one starts from x alone.
            bool statisticsNeeded = Continue(stage, checkpoint.Iteration, _previousObjective, _objective);
            for (int c = 0; c < _chains.Length; c++)
            {
                var chain = _chains[c];
                var saved = state.Chains[c];
                chain.StartStage(checkpoint.Stage, stage.StochasticFactor, _settings.MStep);
                // The checkpoint holds each block's visit (x, v, σ²), not its statistics: recompute them (deterministic).
                for (int block = 0; block < saved.Visits.Length; block++)
                {
                    if (statisticsNeeded && saved.Visits[block] is BlockVisit visit)
                    {
                        chain.X = visit.X;
                        chain.ShiftPrior = new ShiftPrior(_forward, visit.EmptyProbability);
                        chain.NoiseVariance = visit.NoiseVariance;
                        var statistics = EStep(chain, checkpoint.Stage, visit.Iteration, rotationPrior, "E-step (recomputed after resume)");
                        chain.Restore(block, visit, statistics);
                    }
                }

                chain.X = saved.X;
                chain.ShiftPrior = new ShiftPrior(_forward, saved.EmptyProbability);
                chain.NoiseVariance = saved.NoiseVariance;
            }

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
            if (resumeIteration is int resumeAt)
            {
                iteration = resumeAt;
            }
            else
            {
                iteration = 0;
                StartStage(stageIndex, rotationPrior, stopwatch);
            }

            while (Continue(stage, iteration, _previousObjective, _objective) && !Stalled(stageIndex))
            {
                stopwatch.Restart();
                Iterate(stageIndex, ++iteration, rotationPrior, stopwatch);
            }

            Clock.SkipRestOfStage(stage, iteration);
            // The half-map criterion judges only a stage's last map (see Candidate).
            if (_settings.HeldOut == null && Halves && iteration > 0)
            {
                ConsiderBest(stageIndex);
            }

            // With a criterion the stage hands on the best map so far, not simply its last one.
            if (HasCriterion && _bestX != null && _bestRow != History.Count - 1)
            {
                foreach (var chain in _chains)
                {
                    chain.X = LiftTo(_bestStage, stageIndex, _bestX[chain.Index]);
                }
            }
        }

        /// <summary>True when the run has a truth-free criterion: held-out patches, or half-sets.</summary>
        private bool HasCriterion => _settings.HeldOut != null || Halves;

        /// <summary>
        /// The truth-free criterion of a row, larger = better: the held-out log-likelihood per patch when patches are held out,
        /// else the half-map score (see <see cref="ApproxEmIteration.HalfMapCriterion"/>); NaN without either.
        /// </summary>
        private double Criterion(ApproxEmIteration row)
            => _settings.HeldOut != null ? row.HeldOutScore : Halves ? row.HalfMapCriterion : double.NaN;

        /// <summary>
        /// Whether History[<paramref name="index"/>] may be returned. Only maps the EM made (iteration ≥ 1): in stage 1 iteration 0
        /// is x₀ itself, later it repeats the map the previous stage handed on. With the held-out criterion every such row. With
        /// the half-map criterion only the last row of a stage: the halves start alike and are aligned with similar, uncertain
        /// poses, so early in a stage they agree more than their quality warrants (measured: on the benchmark the half-map
        /// estimate fell while the FSC against the truth rose, and choosing by it within a stage returned the stage's worst map).
        /// </summary>
        private bool Candidate(int index)
            => History[index].Iteration > 0
                && (_settings.HeldOut != null || index == History.Count - 1 || History[index + 1].Stage != History[index].Stage);

        /// <summary>
        /// The last row becomes the best: with held-out patches when <see cref="HeldOutSelection"/> chose it; with the half-map
        /// criterion when its criterion is at least the best's (ties go to the later map).
        /// </summary>
        private void ConsiderBest(int stageIndex)
        {
            var row = History[^1];
            bool chosen = _settings.HeldOut != null
                ? _heldOut.Best == History.Count - 1
                : _bestRow < 0 || !(Criterion(row) < Criterion(History[_bestRow]));
            if (chosen)
            {
                _bestRow = History.Count - 1;
                _bestStage = stageIndex;
                _bestX = _chains.Select(chain => (double[])chain.X.Clone()).ToArray();
            }
        }

        /// <summary>
        /// With half-sets and a patience: true when the half-map resolution of this stage has not improved for that many
        /// iterations (the stage then ends early).
        /// </summary>
        private bool Stalled(int stageIndex)
        {
            int patience = _settings.HalfMapPatience;
            if (!HasCriterion || patience <= 0)
            {
                return false;
            }

            var rows = History.Where(row => row.Stage == stageIndex + 1).ToList();
            if (rows.Count <= patience)
            {
                return false;
            }

            // The best criterion before the last `patience` rows (rows without one, such as stage 1's start, do not count).
            var earlier = rows.Take(rows.Count - patience).Select(Criterion).Where(value => !double.IsNaN(value)).ToList();
            if (earlier.Count == 0)
            {
                return false;
            }

            double before = earlier.Max();
            return rows.Skip(rows.Count - patience).All(row => !(Criterion(row) > before));
        }

        /// <summary>Iteration 0 of a stage: x lifted to the stage's parameter space and its E-step (LL₀).</summary>
        private void StartStage(int stageIndex, RotationPrior rotationPrior, Stopwatch stopwatch)
        {
            var stage = _settings.Stages[stageIndex];
            var statistics = new EStepResult[_chains.Length];
            foreach (var chain in _chains)
            {
                if (stageIndex > 0)
                {
                    chain.X = Lift(_settings, stageIndex, chain.X);
                }

                if (chain.X.Length != stage.Model.ParameterCount)
                {
                    throw new ArgumentException(
                        $"Stage {stageIndex + 1} expects {stage.Model.ParameterCount} coefficients; the lifted vector has {chain.X.Length}.");
                }

                chain.StartStage(stageIndex, stage.StochasticFactor, _settings.MStep);
                statistics[chain.Index] = EStep(chain, stageIndex, 0, rotationPrior, "E-step", score: true);
                chain.Store(0, statistics[chain.Index]);
            }

            _previousObjective = double.NegativeInfinity;
            _objective = Objective(statistics);
            Record(stageIndex, 0, statistics, stopwatch.Elapsed.TotalSeconds, 0, 0);
        }

        /// <summary>
        /// Iteration k ≥ 1: the M-step of every chain (x from the normal equations, eqs. 27–30, with the prior if any; σ² if
        /// estimated; then v from the same posteriors, eq. 31), and each chain's E-step of its new x.
        /// </summary>
        private void Iterate(int stageIndex, int iteration, RotationPrior rotationPrior, Stopwatch stopwatch)
        {
            var stage = _settings.Stages[stageIndex];
            _token.ThrowIfCancellationRequested();
            _progress?.Report(new ApproxEmProgress
            {
                Stage = stageIndex + 1, StageCount = _settings.Stages.Count, EllMax = stage.EllMax,
                Iteration = iteration, MaxIterations = stage.MaxIterations,
                Phase = "M-step", Fraction = Clock.Fraction, LastLogLikelihoodPerPatch = _objective,
            });
            var solutions = MStepOfChains(stageIndex, iteration);
            double mStepSeconds = stopwatch.Elapsed.TotalSeconds;
            var statistics = new EStepResult[_chains.Length];
            foreach (var chain in _chains)
            {
                statistics[chain.Index] = EStep(chain, stageIndex, iteration, rotationPrior, "E-step", score: true);
                if (iteration < stage.MaxIterations)
                {
                    chain.Store(iteration, statistics[chain.Index]);
                }
            }

            _previousObjective = _objective;
            _objective = Objective(statistics);
            Clock.IterationSeconds[stageIndex] = stopwatch.Elapsed.TotalSeconds;
            Record(stageIndex, iteration, statistics, stopwatch.Elapsed.TotalSeconds, solutions.Max(s => s.Regularization), mStepSeconds);
        }

        /// <summary>
        /// The M-step of every chain: the normal equations of its statistics, the prior's τ² from the unregularised solutions
        /// (the two halves' together), the (MAP) solve, σ² (ECM, at the new x) and v.
        /// </summary>
        private MStepSolution[] MStepOfChains(int stageIndex, int iteration)
        {
            var stage = _settings.Stages[stageIndex];
            var statistics = _chains.Select(chain => chain.MStepStatistics(_settings.MStep)).ToArray();
            var equations = _chains
                .Select(chain => chain.MStepEquations(_settings.MStep, stage.Model, stage.Rotations.Rotations, _settings.Threads, _forward,
                    _token, _world))
                .ToArray();
            var solutions = equations.Select(MStep.Solve).ToArray();
            _halfMapX = null;
            if (_settings.Prior == ApproxEmPrior.Gaussian)
            {
                // The prior's τ² comes from both halves, which shapes the two MAP half maps alike: their FSC would overstate the
                // resolution. The half-map columns of this iteration measure the unregularised halves instead, which share nothing.
                _halfMapX = Halves ? solutions.Select(solution => solution.Coefficients).ToArray() : null;
                var basis = ((FourierBesselModel)stage.Model).Basis;
                var prior = Halves
                    ? FourierBesselPrior.FromHalves(basis, solutions[0].Coefficients, solutions[1].Coefficients, _settings.Tau2Fudge)
                    : FourierBesselPrior.FromSolution(basis, solutions[0].Coefficients,
                        MStep.Inverse(equations[0], solutions[0].Regularization), _chains[0].NoiseVariance, _settings.Tau2Fudge);
                solutions = _chains.Select(chain => MStep.Solve(prior.AddTo(equations[chain.Index], chain.NoiseVariance))).ToArray();
            }

            foreach (var chain in _chains)
            {
                var solution = solutions[chain.Index];
                var stats = statistics[chain.Index];
                if (solution.Regularized)
                {
                    _progress?.Report(new ApproxEmProgress
                    {
                        Stage = stageIndex + 1, StageCount = _settings.Stages.Count, Iteration = iteration, Phase = "M-step",
                        Message = $"Stage {stageIndex + 1} iteration {iteration}: C was not positive definite " +
                            $"(condition ≈ {solution.ConditionEstimate:g3}); added λI with λ = {solution.Regularization:g3}.",
                    });
                }

                chain.X = solution.Coefficients;
                if (_settings.EstimateNoiseVariance)
                {
                    long pixels = (long)stats.Patches.Length * _patches.PatchSize * _patches.PatchSize;
                    double estimate = MStep.ResidualVariance(equations[chain.Index], chain.X,
                        PatchSetShares.SumOfSquares(_patches, stats.Patches, _world), pixels);
                    chain.NoiseVariance = Math.Max(estimate, 1e-12 * chain.NoiseVariance);
                }

                chain.ShiftPrior = chain.ShiftPrior.Updated(stats);
                if (_world.Size > 1)
                {
                    // Every rank solved the same equations; rank 0's x and σ² are broadcast anyway, so that ranks on different
                    // processors (whose BLAS kernels may round differently) go on from the same bits.
                    var state = new double[chain.X.Length + 1];
                    chain.X.CopyTo(state, 0);
                    state[^1] = chain.NoiseVariance;
                    _world.Broadcast(state);
                    chain.X = state[..^1];
                    chain.NoiseVariance = state[^1];
                }
            }

            return solutions;
        }

        /// <summary>
        /// The chain's E-step of iteration <paramref name="iteration"/>; with <paramref name="score"/> its share of the held-out
        /// patches is scored from the same projections (<see cref="ApproxEmChain.HeldOutResult"/>).
        /// </summary>
        private EStepResult EStep(ApproxEmChain chain, int stageIndex, int iteration, RotationPrior rotationPrior, string phase,
            bool score = false)
        {
            var stage = _settings.Stages[stageIndex];
            var patches = _settings.MStep == MStepMode.Incremental
                ? chain.Block(iteration)
                : Minibatch(chain.Members.Length, stage.StochasticFactor, chain.Seed, stageIndex, iteration).Select(i => chain.Members[i])
                    .ToArray();
            var (result, heldOut) = DoEStep(_patches, _settings, _forward, stageIndex, iteration, patches, score ? chain.HeldOut : null,
                chain.X, chain.NoiseVariance, chain.ShiftPrior, rotationPrior, _progress, Clock, _token, phase);
            if (score)
            {
                chain.HeldOutResult = heldOut;
            }

            return result;
        }

        /// <summary>The objective of an iteration: the mean over the chains of their LL per patch.</summary>
        private static double Objective(EStepResult[] statistics) => statistics.Average(s => s.LogLikelihoodPerPatch);

        /// <summary>The map the chains make together: their mean (one chain: its x).</summary>
        private static double[] Combined(double[][] x)
        {
            if (x.Length == 1)
            {
                return x[0];
            }

            var mean = new double[x[0].Length];
            for (int i = 0; i < mean.Length; i++)
            {
                mean[i] = 0.5 * (x[0][i] + x[1][i]);
            }

            return mean;
        }

        /// <summary>A history row for this iteration, the best iterate, the checkpoint, and the progress report.</summary>
        private void Record(int stageIndex, int iteration, EStepResult[] statistics, double seconds, double regularization,
            double mStepSeconds)
        {
            double halfMapShell = double.NaN, estimatedShell = double.NaN, criterionShell = double.NaN;
            // Stage 1's iteration 0 is x₀ in both halves, fitted to no data: their FSC of 1 says nothing, so the half-map columns
            // stay NaN there (a crossing at the ceiling would also be a baseline no later map could beat; see Stalled).
            if (Halves && (stageIndex > 0 || iteration > 0))
            {
                var basis = ((FourierBesselModel)_settings.Stages[stageIndex].Model).Basis;
                // After an M-step with the prior: this M-step's unregularised halves (see MStepOfChains); else the half maps.
                var halves = iteration > 0 && _halfMapX != null ? _halfMapX : _chains.Select(chain => chain.X).ToArray();
                var comparison = HalfMapComparison.Of(new FourierBesselVolume(basis, halves[0]).ToVolume(),
                    new FourierBesselVolume(basis, halves[1]).ToVolume());
                _gridBlur[stageIndex] ??= GridBlur.Attenuation(_settings.Stages[stageIndex].Rotations.Rotations, basis.EllMax);
                halfMapShell = comparison.HalfMapFsc.CrossingShell;
                criterionShell = comparison.EstimatedShell(basis.EllMax, _gridBlur[stageIndex]);
                estimatedShell = criterionShell;
                if (iteration > 0 && _halfMapX != null)
                {
                    // With the prior the returned maps are the MAP halves, which keep only part of each degree: the estimate
                    // counts what the prior took away (see PriorAttenuation) as well as what the rotation grid blurs. The
                    // criterion that picks the returned map stays the estimate without it (see ApproxEmIteration.HalfMapCriterion).
                    var attenuation = PriorAttenuation(basis, _halfMapX, _chains.Select(chain => chain.X).ToArray())
                        .Zip(_gridBlur[stageIndex]!, (prior, grid) => prior * grid).ToArray();
                    estimatedShell = comparison.EstimatedShell(basis.EllMax, attenuation);
                }
            }

            var combined = Combined(_chains.Select(c => c.X).ToArray());
            var heldOutPatches = HeldOutPatchLogLikelihoods();
            double heldOutScore = _settings.HeldOut == null ? double.NaN : _heldOut.Add(iteration, heldOutPatches, iteration > 0);
            var row = Row(_settings, stageIndex, iteration, statistics, _chains, seconds, combined, regularization, mStepSeconds,
                halfMapShell, estimatedShell, criterionShell, heldOutPatches, heldOutScore);
            row.Ranks = _world.Size;
            row.CommunicationSeconds = _world.SecondsCommunicating - _communicated.Seconds;
            row.CommunicatedBytes = _world.BytesMoved - _communicated.Bytes;
            _communicated = (_world.SecondsCommunicating, _world.BytesMoved);
            History.Add(row);
            if (_settings.HeldOut != null && row.Iteration > 0)
            {
                ConsiderBest(stageIndex);
            }

            Clock.EStepDone();
            if (_settings.CheckpointPath != null && _world.Rank == 0)
            {
                var state = new ApproxEmCheckpointState(
                    _chains.Select(chain => new ApproxEmChainState(chain.X, chain.ShiftPrior.EmptyProbability, chain.NoiseVariance,
                        chain.Visits)).ToArray(), _bestRow, _bestStage, _bestX);
                new ApproxEmCheckpoint(_key, stageIndex, iteration, _chains[0].X, _chains[0].ShiftPrior.EmptyProbability,
                    _previousObjective, _objective, History.ToArray(), state).Write(_settings.CheckpointPath);
            }

            Report(_progress, _settings.Stages, stageIndex, iteration, "iteration", Clock, row);
        }

        /// <summary>
        /// Each held-out patch's log-likelihood, chain by chain: each chain scores its share of them (<see cref="ApproxEmChain.HeldOut"/>)
        /// under its own map, σ² and v, from the projections of its E-step. Empty without held-out patches.
        /// </summary>
        private double[] HeldOutPatchLogLikelihoods()
            => _settings.HeldOut == null
                ? Array.Empty<double>()
                : _chains.SelectMany(chain => chain.HeldOutResult?.PatchLogLikelihood ?? Array.Empty<double>()).ToArray();

        /// <summary>x of stage <paramref name="from"/> lifted through the stages up to <paramref name="to"/>.</summary>
        private double[] LiftTo(int from, int to, double[] x)
        {
            for (int stage = from + 1; stage <= to; stage++)
            {
                x = Lift(_settings, stage, x);
            }

            return x;
        }
    }

    /// <summary>
    /// The resolution of two half maps expanded at <paramref name="ellMax"/>: where their FSC F crosses 0.143 (Rosenthal &amp; Henderson
    /// 2003), and the truth-free estimate of where the full map's FSC against the truth crosses 0.5: the crossing of
    /// C_ref·√c = √(2F/(1+F))·√c, with c the share of each shell the expansion can hold (<see cref="ModelCompleteness"/>, from the
    /// mean map's radial profile). F measures only how reproducible the expansion is; √c adds what it cannot hold at all.
    /// </summary>
    public static (double HalfMapShell, double EstimatedShell) HalfMapResolution(Volume half1, Volume half2, int ellMax,
        double[]? attenuation)
    {
        var comparison = HalfMapComparison.Of(half1, half2);
        return (comparison.HalfMapFsc.CrossingShell, comparison.EstimatedShell(ellMax, attenuation));
    }

    /// <summary>
    /// The FSC of two half maps and the radial profile of their mean, computed once; <see cref="EstimatedShell"/> turns them into
    /// the estimate of <see cref="HalfMapResolution"/> for any attenuation (with the prior a row needs two: with and without
    /// the prior's share).
    /// </summary>
    private sealed record HalfMapComparison(FscResult HalfMapFsc, double[] MeanRadialVariance, int Size)
    {
        public static HalfMapComparison Of(Volume half1, Volume half2)
        {
            var mean = new Volume(half1.Size, half1.Data.Zip(half2.Data, (a, b) => 0.5 * (a + b)).ToArray());
            return new HalfMapComparison(Fsc.Compute(half1, half2, HalfMapThreshold), ModelCompleteness.RadialVariance(mean), half1.Size);
        }

        public double EstimatedShell(int ellMax, double[]? attenuation)
        {
            var ceiling = ModelCompleteness.Ceiling(Size, ellMax, MeanRadialVariance, attenuation);
            var estimate = HalfMapFsc.Curve.Select((shell, k) =>
            {
                double f = Math.Max(0, shell.Correlation);
                return shell with { Correlation = Math.Sqrt(2 * f / (1 + f)) * ceiling[k] };
            }).ToArray();
            return new FscResult(estimate, 0.5, HalfMapFsc.Size, HalfMapFsc.VoxelSize).CrossingShell;
        }
    }

    /// <summary>
    /// How much the prior keeps of each degree ℓ of the returned maps: per ℓ the regression of the MAP halves on the unregularised
    /// solutions of the same M-step, g_ℓ = Σ_halves ⟨x_MAP,ℓ, x_ML,ℓ⟩ / Σ_halves ‖x_ML,ℓ‖², clamped to [0, 1] (1 where a degree has
    /// no power). The MAP solution is W·x_ML with W = (C + σ²R)⁻¹C, so g_ℓ is W's gain at degree ℓ, weighted as the map's own
    /// coefficients are. The half-map FSC measures the unregularised halves (which share no prior); the returned map carries only
    /// g_ℓ of their degree ℓ, and a degree the prior removed is missing from it against the truth however well the halves agree.
    /// <see cref="HalfMapResolution"/> takes g_ℓ as an attenuation (times the rotation grid's).
    /// </summary>
    public static double[] PriorAttenuation(FourierBesselBasis basis, double[][] unregularised, double[][] regularised)
    {
        ArgumentNullException.ThrowIfNull(basis);
        ArgumentNullException.ThrowIfNull(unregularised);
        ArgumentNullException.ThrowIfNull(regularised);
        if (unregularised.Length != regularised.Length || unregularised.Concat(regularised).Any(x => x == null || x.Length != basis.Count))
        {
            throw new ArgumentException($"Every half needs an unregularised and a regularised solution of {basis.Count} coefficients.");
        }

        var g = new double[basis.EllMax + 1];
        for (int ell = 0; ell <= basis.EllMax; ell++)
        {
            int o = basis.Offset(ell), length = basis.RadialCount(ell) * (2 * ell + 1);
            double cross = 0, power = 0;
            for (int h = 0; h < unregularised.Length; h++)
            {
                for (int i = o; i < o + length; i++)
                {
                    cross += regularised[h][i] * unregularised[h][i];
                    power += unregularised[h][i] * unregularised[h][i];
                }
            }

            g[ell] = power > 0 ? Math.Clamp(cross / power, 0, 1) : 1;
        }

        return g;
    }

    /// <summary>The FSC threshold of the half-map resolution (0.143, Rosenthal &amp; Henderson 2003).</summary>
    public const double HalfMapThreshold = 0.143;

    /// <summary>The seed of chain <paramref name="chain"/>: the run's seed for the only chain or half 1, a mix of it for half 2.</summary>
    private static int ChainSeed(int seed, int chain) => chain == 0 ? seed : IterationSeed(seed, -3, chain);

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

    private static (EStepResult Result, EStepResult? Score) DoEStep(PatchSet patches, ApproxEmSettings settings, ForwardModel forward,
        int stageIndex, int iteration, int[] minibatch, int[]? scoreOnly, double[] x, double noiseVariance, ShiftPrior shiftPrior,
        RotationPrior rotationPrior, IProgress<ApproxEmProgress>? progress, ProgressClock clock, CancellationToken token, string phase)
    {
        var stage = settings.Stages[stageIndex];
        // The E-step at k = MaxIterations ends the stage: no M-step will use its statistics, only its LL.
        bool likelihoodOnly = iteration >= stage.MaxIterations;
        var stopwatch = Stopwatch.StartNew();
        long lastReport = 0;
        double firstFraction = double.NaN, firstSeconds = 0;
        Action<double>? report = progress == null ? null : fraction =>
        {
            long now = stopwatch.ElapsedMilliseconds;
            long previous = Interlocked.Read(ref lastReport);
            if (now - previous < 250 || Interlocked.CompareExchange(ref lastReport, now, previous) != previous)
            {
                return;
            }

            // The rate is measured from the first report on, so that the E-step's set-up (projections, FFT plans, JIT) does not
            // count as if it were per-pair work; until 5 % more of the E-step is done the time left is unknown (−1).
            double elapsed = stopwatch.Elapsed.TotalSeconds;
            if (double.IsNaN(firstFraction))
            {
                firstFraction = fraction;
                firstSeconds = elapsed;
            }

            double secondsPerFraction = fraction - firstFraction > 0.05 ? (elapsed - firstSeconds) / (fraction - firstFraction) : -1;
            double remainingThis = secondsPerFraction < 0 ? -1 : (1 - fraction) * secondsPerFraction;
            double remainingRest = 0;
            for (int i = stageIndex; i < settings.Stages.Count; i++)
            {
                int left = i == stageIndex ? settings.Stages[i].MaxIterations - iteration : settings.Stages[i].MaxIterations + 1;
                // A stage not yet timed: this E-step's time scaled by its work (rotations × patches per E-step).
                double work = (double)settings.Stages[i].Rotations.Count * settings.Stages[i].StochasticFactor /
                    (stage.Rotations.Count * stage.StochasticFactor);
                double perIteration = clock.IterationSeconds[i] > 0
                    ? clock.IterationSeconds[i]
                    : (secondsPerFraction > 0 ? (firstSeconds + secondsPerFraction) * work : 0);
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
        // Several processes: each scores its share of the patches (and of the held-out ones), and the statistics are added up
        // in rank order, so every rank holds the whole E-step.
        var options = new EStepOptions
        {
            Threads = settings.Threads, FftSize = settings.FftSize, PosteriorCutoff = settings.PosteriorCutoff, Progress = report,
            LikelihoodOnly = likelihoodOnly, Precision = settings.Precision,
        };
        return ShardedEStep.RunAndScore(forward, stage.Model, stage.Rotations.Rotations, x, patches, minibatch, scoreOnly, noiseVariance,
            shiftPrior, rotationPrior, options, settings.World, token);
    }

    private static ApproxEmIteration Row(ApproxEmSettings settings, int stageIndex, int k, EStepResult[] statistics,
        ApproxEmChain[] chains, double seconds, double[] x, double lambda, double mStepSeconds, double halfMapShell, double estimatedShell,
        double criterionShell, double[] heldOutPatches, double heldOutScore)
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

        // One chain: its own numbers. Two halves: sums over both, and the means of v and σ².
        double logLikelihood = statistics.Length == 1 ? statistics[0].LogLikelihood : statistics.Sum(s => s.LogLikelihood);
        int patchCount = statistics.Sum(s => s.Patches.Length);
        long pairs = statistics.Sum(s => s.PairCount), skipped = statistics.Sum(s => s.SkippedPairs);
        return new ApproxEmIteration
        {
            Stage = stageIndex + 1, EllMax = stage.EllMax, RotationCount = stage.Rotations.Count, StochasticFactor = stage.StochasticFactor,
            Iteration = k, PatchCount = patchCount, LogLikelihood = logLikelihood,
            LogLikelihoodPerPatch = statistics.Length == 1 ? statistics[0].LogLikelihoodPerPatch : logLikelihood / patchCount,
            EmptyProbability = chains.Length == 1 ? chains[0].ShiftPrior.EmptyProbability : chains.Average(c => c.ShiftPrior.EmptyProbability),
            NoiseVariance = chains.Length == 1 ? chains[0].NoiseVariance : chains.Average(c => c.NoiseVariance),
            Seconds = seconds, MStepSeconds = mStepSeconds, FscShell = shell, FscFirstShellBelow = below, Regularization = lambda,
            SkippedFraction = pairs == 0 ? 0 : (double)skipped / pairs,
            Precision = statistics[0].Precision, HalfMapFscShell = halfMapShell, EstimatedFscShell = estimatedShell,
            HalfMapCriterion = criterionShell,
            HeldOutLogLikelihoodPerPatch = heldOutPatches.Length == 0 ? double.NaN : heldOutPatches.Average(), HeldOutScore = heldOutScore,
            HeldOutPatchLogLikelihood = heldOutPatches,
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
}
