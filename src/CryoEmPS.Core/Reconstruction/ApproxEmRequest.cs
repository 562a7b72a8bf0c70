using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// Everything Invoke-ApproxEm (or a Core caller) asks of <see cref="ApproxEmReconstruction"/>: the data, x₀, the
/// frequency-marching schedule and the run's options, with the paper's defaults (Section 4.1). <see cref="Resolve"/> is
/// the one place where a request is checked; it returns the checked, fully expanded <see cref="ApproxEmPlan"/> that runs.
/// </summary>
/// <remarks>
/// The number of stages is the length of <see cref="EllMax"/>. Each other per-stage array (<see cref="RotationCount"/> or
/// <see cref="Rotations"/>, <see cref="StochasticFactor"/>, <see cref="MaxIterations"/>, <see cref="Tolerance"/>) holds
/// one value per stage or a single value for every stage; left null it takes the default of the schedule: with the
/// paper's three stages the paper's value of each stage, otherwise the paper's first-stage value for every stage
/// (ε: no early stop).
/// </remarks>
public sealed class ApproxEmRequest
{
    /// <summary>The paper's schedule (Section 4.1): ℓmax 6/10/14, K 3392/3392/1376, S 1/0.5/0.25, 5/5/10 iterations.</summary>
    public static readonly int[] PaperEllMax = { 6, 10, 14 };
    public static readonly int[] PaperRotationCount = { 3392, 3392, 1376 };
    public static readonly double[] PaperStochasticFactor = { 1, 0.5, 0.25 };
    public static readonly int[] PaperMaxIterations = { 5, 5, 10 };
    /// <summary>ε of every stage unless given: −∞, never stop early (as in the paper).</summary>
    public const double DefaultTolerance = double.NegativeInfinity;
    /// <summary>v₀ unless given.</summary>
    public const double DefaultEmptyProbability = 0.5;

    public required PatchSet Patches { get; init; }
    /// <summary>x₀ as a voxel volume (expanded at the first stage's ℓmax), or null.</summary>
    public Volume? InitialVolume { get; init; }
    /// <summary>x₀ as Fourier–Bessel coefficients (its ℓmax is changed to the first stage's), or null. Used when both are given.</summary>
    public FourierBesselVolume? InitialCoefficients { get; init; }
    /// <summary>ℓmax of each stage, increasing; one entry per stage.</summary>
    public int[] EllMax { get; init; } = (int[])PaperEllMax.Clone();
    /// <summary>
    /// K of each stage: a super-Fibonacci grid of that many rotations (one grid per distinct K). Not with <see cref="Rotations"/>.
    /// </summary>
    public int[]? RotationCount { get; init; }
    /// <summary>The rotation set Ω of each stage. Not with <see cref="RotationCount"/>.</summary>
    public RotationSet[]? Rotations { get; init; }
    /// <summary>S of each stage, 0 &lt; S ≤ 1.</summary>
    public double[]? StochasticFactor { get; init; }
    /// <summary>N_it of each stage, 0 or more.</summary>
    public int[]? MaxIterations { get; init; }
    /// <summary>ε of each stage.</summary>
    public double[]? Tolerance { get; init; }
    /// <summary>σ², the per-pixel noise variance; null: the patch set's.</summary>
    public double? NoiseVariance { get; init; }
    /// <summary>v₀, the initial probability that a patch is empty, in [0, 1).</summary>
    public double EmptyProbability { get; init; } = DefaultEmptyProbability;
    public int Seed { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
    public double PosteriorCutoff { get; init; }
    public EStepPrecision Precision { get; init; } = EStepPrecision.Auto;
    /// <summary>The true volume, an L³ cube: the FSC is recorded every iteration.</summary>
    public Volume? Reference { get; init; }
    public string? CheckpointPath { get; init; }
    /// <summary>Continue from <see cref="CheckpointPath"/> when it exists.</summary>
    public bool Resume { get; init; }
    /// <summary>Which statistics each M-step solves with: incremental EM (default) or the paper's minibatch.</summary>
    public MStepMode MStep { get; init; } = MStepMode.Incremental;
    /// <summary>The prior on the coefficients (see <see cref="ApproxEmPrior"/>).</summary>
    public ApproxEmPrior Prior { get; init; } = DefaultPrior;
    /// <summary>T, RELION's tau2_fudge (larger = weaker prior), positive and finite.</summary>
    public double Tau2Fudge { get; init; } = DefaultTau2Fudge;
    /// <summary>Re-estimate σ² in every M-step even when <see cref="NoiseVariance"/> is given (it is always estimated when not).</summary>
    public bool EstimateNoiseVariance { get; init; }
    /// <summary>Reconstruct two gold-standard halves (see <see cref="HalfSets"/>) and record their FSC every iteration.</summary>
    public bool HalfSet { get; init; }
    /// <summary>With half-sets: end a stage when the half-map resolution has not improved for this many iterations (0: never).</summary>
    public int HalfMapPatience { get; init; }
    /// <summary>
    /// The fraction of patches held out of every M-step, in (0, 0.5), whose log-likelihood under each iterate is the truth-free
    /// criterion (see <see cref="HeldOutSet"/>); null: none.
    /// </summary>
    public double? HeldOutFraction { get; init; }
    /// <summary>Fixed (every stage, the paper's) or adaptive frequency marching (needs half-sets or held-out patches).</summary>
    public FrequencyMarching Marching { get; init; } = FrequencyMarching.Fixed;

    /// <summary>
    /// Pixels of CTF delocalisation the forward model keeps beyond each edge of a projection (the padded box B = L + 2·margin);
    /// null: <see cref="DefaultFilterMargin"/>. Used only when the micrographs carry a CTF or a whitening spectrum.
    /// </summary>
    public int? FilterMargin { get; init; }
    /// <summary>Micrographs whose mean defocus differs by at most this many Å share one defocus group (0: only equal CTFs).</summary>
    public double DefocusGroupTolerance { get; init; }

    /// <summary>The filter margin unless given: 0 measured as good as 3 and 7 on the CTF benchmark at less cost (benchmarks/README.md).</summary>
    public const int DefaultFilterMargin = 0;

    /// <summary>
    /// Multiply x₀ by the scalar that maximises the data's log-likelihood before the run (<see cref="Reconstruction.InitialScale"/>):
    /// for real or preprocessed micrographs, whose units have nothing to do with the start model's.
    /// </summary>
    public bool FitInitialScale { get; init; }

    /// <summary>The processes to spread the EM over (<see cref="ApproxEmSettings.Communicator"/>); null: this one alone.</summary>
    public Native.ICommunicator? Communicator { get; init; }

    /// <summary>The default prior.</summary>
    public const ApproxEmPrior DefaultPrior = ApproxEmPrior.None;
    /// <summary>The default T (chosen by a sweep of 1, 4, 8, 16 on the paper protocol; see the help of -Tau2Fudge).</summary>
    public const double DefaultTau2Fudge = 4;
    /// <summary>Each half needs at least this many patches.</summary>
    public const int MinimumHalfSetPatches = 4;

    /// <summary>
    /// Checks the request — every check, once — and returns it with the defaults applied and every per-stage value
    /// expanded to one per stage. Throws <see cref="ApproxEmInputException"/> with the ErrorId the cmdlet reports.
    /// </summary>
    public ApproxEmPlan Resolve()
    {
        // The data, then σ² (given, or the patch set's), then the schedule, then the volumes and the checkpoint.
        PatchSet patches = JoinShares(Patches ?? throw Invalid("PatchSetMissing", "No patch set was given."));
        if (patches.Count == 0)
        {
            throw Invalid("EmptyPatchSet",
                "The patch set holds no patches. Make one with Get-PatchSet from micrographs whose side is at least the patch size.");
        }

        int size = patches.PatchSize;
        ApproxEmInputChecks.CheckPatchSize(size);
        // The values first: the σ² estimate below starts from their mean square.
        ApproxEmInputChecks.CheckPatchValues(patches, World);
        bool estimateNoiseVariance = NoiseVariance == null || EstimateNoiseVariance;
        double noiseVariance = ResolveNoiseVariance(patches);
        var schedule = ResolveSchedule(patches);
        if (!(Tau2Fudge > 0) || double.IsInfinity(Tau2Fudge))
        {
            throw Invalid("Tau2FudgeOutOfRange",
                $"-Tau2Fudge T must be positive and finite (larger T = weaker prior; RELION uses 1 to 4); got {Tau2Fudge}.");
        }

        if (HalfMapPatience < 0)
        {
            throw Invalid("HalfMapPatienceOutOfRange", $"-HalfMapPatience must be 0 (never stop early) or more; got {HalfMapPatience}.");
        }

        var heldOut = ResolveHeldOut(patches);
        var halves = HalfSet ? ResolveHalfSets(patches, schedule, heldOut) : null;
        if (Marching == FrequencyMarching.Adaptive && halves == null && heldOut == null)
        {
            throw Invalid("AdaptiveMarchingNeedsCriterion",
                "-Marching Adaptive decides from a truth-free criterion: add -HalfSet or -HeldOutFraction (or use -Marching Fixed).");
        }
        if (!(EmptyProbability >= 0 && EmptyProbability < 1))
        {
            throw Invalid("EmptyProbabilityOutOfRange", $"-EmptyProbability v₀ must lie in [0, 1); got {EmptyProbability}.");
        }

        CheckVolumes(size);
        ApproxEmInputChecks.Check(this, patches, schedule.RotationCount, schedule.StochasticFactor);
        if (Resume && string.IsNullOrEmpty(CheckpointPath))
        {
            throw Invalid("ResumeWithoutCheckpoint", "-Resume needs -CheckpointPath, the checkpoint file to continue from.");
        }

        // Rotation sets from counts: a super-Fibonacci grid, made once per distinct count.
        RotationSet[] rotations = schedule.GivenRotations ?? RotationGrid.SuperFibonacci(schedule.RotationCount);
        return new ApproxEmPlan(this, patches, (int[])EllMax.Clone(), rotations, schedule.StochasticFactor, schedule.MaxIterations,
            schedule.Tolerance, noiseVariance, estimateNoiseVariance, halves, heldOut, ResolveForwardModel(patches));
    }

    /// <summary>
    /// The forward model of the patches' micrographs: each micrograph's CTF and whitening as its filter, grouped by defocus
    /// (<see cref="DefocusGrouping"/>); null without any (the paper's model).
    /// </summary>
    private ForwardModel? ResolveForwardModel(PatchSet patches)
    {
        if (!patches.Filtered)
        {
            return null;
        }

        int margin = FilterMargin ?? DefaultFilterMargin;
        if (margin < 0 || margin > 4 * patches.PatchSize)
        {
            throw Invalid("FilterMarginOutOfRange",
                $"-FilterMargin must lie in 0..{4 * patches.PatchSize} pixels (4 L); got {margin}. The default is {DefaultFilterMargin}.");
        }

        if (!(DefocusGroupTolerance >= 0) || double.IsInfinity(DefocusGroupTolerance))
        {
            throw Invalid("DefocusGroupToleranceOutOfRange",
                $"-DefocusGroupTolerance must be 0 or more Å (0: only equal CTFs share a group); got {DefocusGroupTolerance}.");
        }

        if (patches.Ctfs.Any(ctf => ctf != null) && !(patches.PixelSize > 0))
        {
            throw Invalid("CtfNeedsPixelSize",
                "The micrographs carry a CTF but the patch set has no common pixel size, so the CTF cannot be evaluated. " +
                "Give every micrograph its pixel size (Import-Micrograph reads it from the MRC header) and build one patch set per pixel size.");
        }

        var filters = DefocusGrouping.Filters(patches.Ctfs, patches.Whitenings, patches.MicrographCount, patches.PixelSize, margin,
            DefocusGroupTolerance, patches.SignalScales);
        return new ForwardModel(patches.PatchSize, filters);
    }

    /// <summary>The held-out patches (<see cref="HeldOutFraction"/> of them, seeded), or null.</summary>
    private int[]? ResolveHeldOut(PatchSet patches)
    {
        if (HeldOutFraction is not double fraction)
        {
            return null;
        }

        if (!(fraction > 0 && fraction < 0.5))
        {
            throw Invalid("HeldOutFractionOutOfRange",
                $"-HeldOutFraction must lie in (0, 0.5): a share of the patches kept out of every M-step; got {fraction}.");
        }

        var heldOut = HeldOutSet.Choose(patches.Count, fraction, Seed);
        if (heldOut.Length < 1 || patches.Count - heldOut.Length < MinimumHalfSetPatches)
        {
            throw Invalid("HeldOutFractionOutOfRange",
                $"-HeldOutFraction {fraction} of {patches.Count} patches leaves {heldOut.Length} held out and " +
                $"{patches.Count - heldOut.Length} to reconstruct from: too few. Use more patches or another fraction.");
        }

        return heldOut;
    }

    /// <summary>The gold-standard split; each half must hold enough patches for every stage's minibatch.</summary>
    private static HalfSets ResolveHalfSets(PatchSet patches, Schedule schedule, int[]? heldOut)
    {
        var halves = HalfSets.Split(patches).Without(heldOut);
        int smaller = Math.Min(halves.First.Length, halves.Second.Length);
        double smallestS = schedule.StochasticFactor.Min();
        if (smaller < MinimumHalfSetPatches || (int)Math.Floor(smallestS * smaller) < 1)
        {
            throw Invalid("HalfSetTooSmall",
                $"The half-sets ({halves}) are too small: each half needs at least {MinimumHalfSetPatches} patches, and " +
                $"⌊S·P⌋ ≥ 1 for S = {smallestS}. Use more or larger micrographs, or drop -HalfSet.");
        }

        return halves;
    }

    /// <summary>The expanded schedule: one value per stage of every list.</summary>
    private sealed record Schedule(RotationSet[]? GivenRotations, int[] RotationCount, double[] StochasticFactor, int[] MaxIterations,
        double[] Tolerance);

    /// <summary>
    /// σ² of the first E-step: <see cref="NoiseVariance"/> when given; else the mean square of the patch pixels (signal and noise,
    /// an upper bound that the M-step then re-estimates — the patch set's own σ², which only simulations carry, is not used,
    /// so that simulated and real data are treated alike). Positive and finite.
    /// </summary>
    private double ResolveNoiseVariance(PatchSet patches)
    {
        double noiseVariance = NoiseVariance ?? MeanSquare(patches);
        if (!(noiseVariance > 0) || double.IsInfinity(noiseVariance))
        {
            throw Invalid("NoiseVarianceInvalid",
                $"The noise variance σ² must be positive and finite; got {noiseVariance}. " +
                $"Give -NoiseVariance, the per-pixel variance of the micrograph noise.");
        }

        return noiseVariance;
    }

    /// <summary>
    /// Every per-stage list expanded to one value per stage of <see cref="EllMax"/> (or its default), and each stage checked.
    /// </summary>
    private Schedule ResolveSchedule(PatchSet patches)
    {
        if (EllMax == null || EllMax.Length == 0)
        {
            throw Invalid("ScheduleEmpty", "-EllMax needs at least one stage.");
        }

        int stages = EllMax.Length;
        if (RotationCount != null && Rotations != null)
        {
            throw Invalid("RotationScheduleConflict", "Give -RotationCount or -RotationSet, not both.");
        }

        RotationSet[]? givenRotations = Rotations == null ? null : PerStage(Rotations, stages, "RotationSet");
        int[] rotationCount = givenRotations != null
            ? givenRotations.Select(set => set?.Count ?? 0).ToArray()
            : PerStage(RotationCount ?? PaperDefault(PaperRotationCount, stages), stages, "RotationCount");
        var schedule = new Schedule(givenRotations, rotationCount,
            PerStage(StochasticFactor ?? PaperDefault(PaperStochasticFactor, stages), stages, "StochasticFactor"),
            PerStage(MaxIterations ?? PaperDefault(PaperMaxIterations, stages), stages, "MaxIterations"),
            PerStage(Tolerance ?? new[] { DefaultTolerance }, stages, "Tolerance"));
        for (int i = 0; i < stages; i++)
        {
            CheckStage(i, schedule, patches);
        }

        return schedule;
    }

    /// <summary>The checks of stage <paramref name="i"/>: ℓmax in the basis's range and increasing, S, N_it, ε and K.</summary>
    private void CheckStage(int i, Schedule schedule, PatchSet patches)
    {
        int size = patches.PatchSize, maxEll = FourierBesselBasis.MaxEll(size);
        double stochasticFactor = schedule.StochasticFactor[i];
        if (EllMax[i] < 0 || EllMax[i] > maxEll)
        {
            throw Invalid("EllMaxOutOfRange",
                $"ℓmax = {EllMax[i]} (stage {i + 1}) is outside 0..{maxEll}, the range the Fourier–Bessel basis has for L = {size}.");
        }

        if (i > 0 && EllMax[i] <= EllMax[i - 1])
        {
            throw Invalid("EllMaxNotIncreasing",
                $"-EllMax must increase from stage to stage (frequency marching); got {string.Join(", ", EllMax)}.");
        }

        if (!(stochasticFactor > 0 && stochasticFactor <= 1))
        {
            throw Invalid("StochasticFactorOutOfRange",
                $"The stochastic factor S must satisfy 0 < S ≤ 1; stage {i + 1} has {stochasticFactor}.");
        }

        if ((int)Math.Floor(stochasticFactor * patches.Count) < 1)
        {
            throw Invalid("StochasticFactorTooSmall",
                $"⌊S·P⌋ = ⌊{stochasticFactor}·{patches.Count}⌋ = 0 patches in stage {i + 1}: raise -StochasticFactor.");
        }

        if (schedule.MaxIterations[i] < 0)
        {
            throw Invalid("MaxIterationsOutOfRange", "-MaxIterations must be 0 or more.");
        }

        if (double.IsNaN(schedule.Tolerance[i]))
        {
            throw Invalid("ToleranceInvalid", "-Tolerance must be a number.");
        }

        if (schedule.RotationCount[i] < 1)
        {
            throw Invalid("RotationSetEmpty", $"Stage {i + 1} has no rotations.");
        }
    }

    /// <summary>The initial volume (either form) and the reference must be L³ like the patches.</summary>
    private void CheckVolumes(int size)
    {
        if (InitialVolume != null && (!InitialVolume.IsCube || InitialVolume.SizeX != size))
        {
            throw Invalid("InitialVolumeSizeMismatch",
                $"The initial volume is {InitialVolume.SizeZ}×{InitialVolume.SizeY}×{InitialVolume.SizeX} " +
                $"but the patches are {size}×{size}: the volume must be an {size}³ cube (resize it with Resize-EmVolume).");
        }

        if (InitialCoefficients != null && InitialCoefficients.Size != size)
        {
            throw Invalid("InitialVolumeSizeMismatch",
                $"The initial Fourier–Bessel volume has L = {InitialCoefficients.Size} but the patches are {size}×{size}.");
        }

        if (Reference != null && (!Reference.IsCube || Reference.SizeX != size))
        {
            throw Invalid("ReferenceSizeMismatch",
                $"The reference is {Reference.SizeZ}×{Reference.SizeY}×{Reference.SizeX}; it must be an {size}³ cube like the patches.");
        }
    }

    /// <summary>
    /// The default of a per-stage value: the paper's stage by stage with its three stages, else its first stage's for every stage.
    /// </summary>
    private static T[] PaperDefault<T>(T[] paper, int stages)
        => stages == paper.Length ? paper : Enumerable.Repeat(paper[0], stages).ToArray();

    /// <summary>A copy with one value per stage: <paramref name="values"/> as given, or its single value repeated.</summary>
    private static T[] PerStage<T>(T[] values, int stages, string parameter)
    {
        if (values.Length == stages)
        {
            return (T[])values.Clone();
        }
        if (values.Length == 1)
        {
            return Enumerable.Repeat(values[0], stages).ToArray();
        }
        throw Invalid("ScheduleLengthMismatch",
            $"-{parameter} has {values.Length} values but -EllMax has {stages} stages. " +
            $"Give one value per stage, or a single value for every stage.");
    }

    /// <summary>The mean of the squared patch pixels (over every rank's patches for a joined share).</summary>
    private double MeanSquare(PatchSet patches)
        => PatchSetShares.SumOfSquares(patches, null, World) / ((double)patches.Count * patches.PatchSize * patches.PatchSize);

    /// <summary>The processes of the run: <see cref="Communicator"/>, or this one alone.</summary>
    private Native.ICommunicator World => Communicator ?? Native.SingleProcess.Instance;

    /// <summary>
    /// A rank's share of the data (<see cref="PatchSet.RankShare"/>, from Import-Micrograph -RankShare) joined with the other
    /// ranks' (<see cref="PatchSetShares.Join"/>, a collective every rank reaches here); any other patch set as it is.
    /// </summary>
    private PatchSet JoinShares(PatchSet patches)
    {
        if (patches.RankShare is not { } share)
        {
            return patches;
        }

        if (share.Size != World.Size || share.Rank != World.Rank)
        {
            throw Invalid("RankShareMismatch",
                $"The patch set is {share}'s share of the micrographs, but this process is rank {World.Rank} of {World.Size}. " +
                "Load the micrographs with Import-Micrograph -RankShare in the same job that runs Invoke-ApproxEm.");
        }

        try
        {
            return PatchSetShares.Join(patches, World);
        }
        catch (ArgumentException ex)
        {
            throw Invalid("RankSharesDisagree", ex.Message);
        }
    }

    private static ApproxEmInputException Invalid(string errorId, string message) => new(errorId, message);
}
