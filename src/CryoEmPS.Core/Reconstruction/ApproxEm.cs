using System.Diagnostics;
using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>One frequency-marching stage of Algorithm 1: a model (ℓmax), a rotation set Ω^K, S, N_it and ε.</summary>
public sealed class ApproxEmStage
{
    public ApproxEmStage(ILinearProjectionModel model, RotationSet rotations, double stochasticFactor, int maxIterations, double tolerance = double.NegativeInfinity, int ellMax = 0)
    {
        if (!(stochasticFactor > 0 && stochasticFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(stochasticFactor), $"The stochastic factor S must satisfy 0 < S ≤ 1; got {stochasticFactor}.");
        if (maxIterations < 0) throw new ArgumentOutOfRangeException(nameof(maxIterations), "MaxIterations must be 0 or more.");
        if (double.IsNaN(tolerance)) throw new ArgumentOutOfRangeException(nameof(tolerance));
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Rotations = rotations ?? throw new ArgumentNullException(nameof(rotations));
        StochasticFactor = stochasticFactor; MaxIterations = maxIterations; Tolerance = tolerance; EllMax = ellMax;
    }

    public ILinearProjectionModel Model { get; }
    public RotationSet Rotations { get; }
    public double StochasticFactor { get; }
    public int MaxIterations { get; }
    /// <summary>ε: the stage stops when the log-likelihood per patch gains ≤ ε between successive E-steps (−∞: never early).</summary>
    public double Tolerance { get; }
    /// <summary>The ℓmax of the model (a label; 0 when the model has none).</summary>
    public int EllMax { get; }
}

/// <summary>Everything Algorithm 1 needs besides the patches and x₀.</summary>
public sealed class ApproxEmSettings
{
    public required IReadOnlyList<ApproxEmStage> Stages { get; init; }
    /// <summary>σ², the noise variance per pixel.</summary>
    public required double NoiseVariance { get; init; }
    /// <summary>v₀: the initial probability that a patch is empty.</summary>
    public double EmptyProbability { get; init; } = 0.5;
    public int Seed { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>See <see cref="EStepOptions.PosteriorCutoff"/>; 0 = exact.</summary>
    public double PosteriorCutoff { get; init; }
    /// <summary>FFT side for the correlations (0 = automatic).</summary>
    public int FftSize { get; init; }
    /// <summary>Arithmetic of the E-steps' per-pair work (see <see cref="EStepPrecision"/>; default Auto).</summary>
    public EStepPrecision Precision { get; init; } = EStepPrecision.Auto;
    /// <summary>Maps the previous stage's coefficients into stage <c>i</c>'s parameter space (frequency marching). Default: zero-pad by index.</summary>
    public Func<int, double[], double[]>? Lift { get; init; }
    /// <summary>Synthesises the L³ volume of stage <c>i</c>'s coefficients (for the FSC against <see cref="Reference"/> and the result).</summary>
    public Func<int, double[], Volume>? Synthesize { get; init; }
    /// <summary>The true volume: when given (with <see cref="Synthesize"/>), the FSC resolution is recorded every iteration.</summary>
    public Volume? Reference { get; init; }
    public string? CheckpointPath { get; init; }
    /// <summary>Continue from <see cref="CheckpointPath"/> when it exists.</summary>
    public bool Resume { get; init; }
}

/// <summary>
/// One row of the history: the state after <see cref="Iteration"/> M-steps of a stage (iteration 0 = the stage's
/// starting volume), evaluated by the E-step on that iteration's minibatch J_k.
/// </summary>
public sealed class ApproxEmIteration
{
    public int Stage { get; init; }
    public int EllMax { get; init; }
    public int RotationCount { get; init; }
    public double StochasticFactor { get; init; }
    public int Iteration { get; init; }
    public int PatchCount { get; init; }
    /// <summary>LL = Σ_{q∈J_k} log Σ_{s,ω} (ρ_k[s]/K)·N(I_q; A_{s,ω}x_k, σ²I) — the exact objective of the approximate likelihood on the minibatch.</summary>
    public double LogLikelihood { get; init; }
    /// <summary>LL / |J_k|: comparable across stochastic factors; the stopping rule uses its gains.</summary>
    public double LogLikelihoodPerPatch { get; init; }
    /// <summary>v_k, the empty-patch probability of the prior used in this E-step.</summary>
    public double EmptyProbability { get; init; }
    /// <summary>Wall-clock seconds of this iteration (M-step + E-step; E-step only for iteration 0).</summary>
    public double Seconds { get; init; }
    /// <summary>Of <see cref="Seconds"/>, the M-step's (building and solving the normal equations; 0 for iteration 0).</summary>
    public double MStepSeconds { get; init; }
    /// <summary>Interpolated FSC(0.5) crossing shell against the reference (NaN without one).</summary>
    public double FscShell { get; init; } = double.NaN;
    /// <summary>First shell below 0.5 (−1: never; null without a reference).</summary>
    public int? FscFirstShellBelow { get; init; }
    /// <summary>The Tikhonov λ the M-step that produced this x had to add (0: none).</summary>
    public double Regularization { get; init; }
    /// <summary>Fraction of (patch, rotation) pairs the statistics pass skipped (exactly-zero posterior unless a cutoff was set).</summary>
    public double SkippedFraction { get; init; }
    /// <summary>The arithmetic of this row's E-step: Double or Single (what Auto chose).</summary>
    public EStepPrecision Precision { get; init; } = EStepPrecision.Double;

    public override string ToString() => $"stage {Stage} (ℓmax {EllMax}) it {Iteration}: LL/patch {LogLikelihoodPerPatch:0.####}, v {EmptyProbability:0.###}" + (double.IsNaN(FscShell) ? "" : $", FSC shell {FscShell:0.##}");
}

/// <summary>A progress report of Algorithm 1.</summary>
public sealed class ApproxEmProgress
{
    public int Stage { get; init; }
    public int StageCount { get; init; }
    public int EllMax { get; init; }
    public int Iteration { get; init; }
    public int MaxIterations { get; init; }
    public string Phase { get; init; } = "";
    /// <summary>Fraction of the whole run done (0..1), by E-steps.</summary>
    public double Fraction { get; init; }
    public double LastLogLikelihoodPerPatch { get; init; } = double.NaN;
    /// <summary>Estimated seconds remaining (−1 unknown).</summary>
    public int SecondsRemaining { get; init; } = -1;
    /// <summary>A completed iteration (one per row), or null for a mid-iteration update.</summary>
    public ApproxEmIteration? Completed { get; init; }
    public string? Message { get; init; }
}

/// <summary>The result of <see cref="ApproxEm.Run"/>.</summary>
public sealed class ApproxEmRun
{
    internal ApproxEmRun(double[] x, double v, List<ApproxEmIteration> history, int stages, bool resumed, int resumedRows)
    { Coefficients = x; EmptyProbability = v; History = history; StageCount = stages; Resumed = resumed; ResumedRows = resumedRows; }
    /// <summary>The final coefficients (in the last stage's parameter space).</summary>
    public double[] Coefficients { get; }
    public double EmptyProbability { get; }
    public IReadOnlyList<ApproxEmIteration> History { get; }
    public int StageCount { get; }
    public bool Resumed { get; }
    /// <summary>How many history rows came from the checkpoint.</summary>
    public int ResumedRows { get; }
    public double MaxRegularization => History.Count == 0 ? 0 : History.Max(h => h.Regularization);
}

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
        Validate(patches, initialCoefficients, settings);
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
        ulong z = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ ((ulong)(uint)stage << 32 | (uint)iteration);
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
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

    private static void Validate(PatchSet patches, double[] x0, ApproxEmSettings s)
    {
        if (patches.Count == 0) throw new ArgumentException("The patch set is empty: there is nothing to reconstruct from.");
        if (s.Stages.Count == 0) throw new ArgumentException("At least one stage is needed.");
        if (!(s.NoiseVariance > 0) || double.IsInfinity(s.NoiseVariance)) throw new ArgumentOutOfRangeException(nameof(s.NoiseVariance), $"σ² must be positive and finite; got {s.NoiseVariance}.");
        if (!(s.EmptyProbability >= 0 && s.EmptyProbability < 1)) throw new ArgumentOutOfRangeException(nameof(s.EmptyProbability), $"v₀ must lie in [0, 1); got {s.EmptyProbability}.");
        for (int i = 0; i < s.Stages.Count; i++)
            if (s.Stages[i].Model.ImageSize != patches.PatchSize)
                throw new ArgumentException($"Stage {i + 1} projects {s.Stages[i].Model.ImageSize}×{s.Stages[i].Model.ImageSize} images but the patches are {patches.PatchSize}×{patches.PatchSize}.");
        if (x0.Length != s.Stages[0].Model.ParameterCount) throw new ArgumentException($"The initial coefficients have {x0.Length} entries; the first stage's model has {s.Stages[0].Model.ParameterCount}.");
    }
}
