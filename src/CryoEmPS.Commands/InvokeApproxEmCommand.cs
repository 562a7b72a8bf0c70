using System.Management.Automation;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>
/// Invoke-ApproxEm: the stochastic approximate EM with frequency marching (Algorithm 1, Sections 3.1–3.4),
/// reconstructing a volume directly from the patches of micrographs.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ApproxEm")]
[OutputType(typeof(ApproxEmResult))]
public sealed class InvokeApproxEmCommand : CryoEmCmdlet
{
    private const int ProgressId = 41;
    private const string Activity = "Approximate EM";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public PatchSet PatchSet { get; set; } = null!;

    /// <summary>
    /// x₀: a Volume (expanded at the first stage's ℓmax), a FourierBesselVolume or a previous ApproxEmResult (see
    /// <see cref="VolumeInput.ForInitialVolume"/>).
    /// </summary>
    [Parameter(Position = 1)]
    [ValidateNotNull]
    public object? InitialVolume { get; set; }

    [Parameter]
    public double NoiseVariance { get; set; } = double.NaN;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public int[] EllMax { get; set; } = (int[])ApproxEmRequest.PaperEllMax.Clone();

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateRange(1, 10_000_000)]
    public int[]? RotationCount { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public RotationSet[]? RotationSet { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public double[]? StochasticFactor { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public int[]? MaxIterations { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public double[]? Tolerance { get; set; }

    [Parameter]
    public double EmptyProbability { get; set; } = 0.5;

    [Parameter]
    public int? Seed { get; set; }

    [Parameter]
    public Volume? Reference { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CheckpointPath { get; set; }

    [Parameter]
    public SwitchParameter Resume { get; set; }

    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = Environment.ProcessorCount;

    /// <summary>Opt-in approximation: skip (patch, rotation) pairs with less posterior mass than this in the M-step statistics.</summary>
    [Parameter]
    [ValidateRange(0.0, 1e-3)]
    public double PosteriorCutoff { get; set; }

    /// <summary>Arithmetic of the E-step's per-pair work: Auto (default), Double (exact) or Single.</summary>
    [Parameter]
    public EStepPrecision Precision { get; set; } = EStepPrecision.Auto;

    /// <summary>Which statistics each M-step solves with: Incremental (all blocks; default) or Minibatch (the paper's).</summary>
    [Parameter]
    public MStepMode MStep { get; set; } = MStepMode.Incremental;

    /// <summary>The prior on the coefficients: None (maximum likelihood, the paper's) or Gaussian (MAP, RELION's).</summary>
    [Parameter]
    public ApproxEmPrior Prior { get; set; } = ApproxEmRequest.DefaultPrior;

    /// <summary>T, RELION's tau2_fudge: τ² = T·(signal power); larger T = weaker prior.</summary>
    [Parameter]
    public double Tau2Fudge { get; set; } = ApproxEmRequest.DefaultTau2Fudge;

    /// <summary>Re-estimate σ² in every M-step even when -NoiseVariance is given (it always is when not).</summary>
    [Parameter]
    public SwitchParameter EstimateNoiseVariance { get; set; }

    /// <summary>Reconstruct two gold-standard halves and record their FSC (the resolution without the truth) every iteration.</summary>
    [Parameter]
    public SwitchParameter HalfSet { get; set; }

    /// <summary>With -HalfSet: end a stage when the half-map resolution has not improved for this many iterations (0: never).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int HalfMapPatience { get; set; }

    /// <summary>
    /// A fraction in (0, 0.5) of the patches kept out of every M-step; their log-likelihood, recorded every iteration, then picks
    /// the returned map and ends stalled stages (instead of the half-map FSC).
    /// </summary>
    [Parameter]
    public double HeldOutFraction { get; set; }

    /// <summary>Fixed: every stage of the schedule (the paper's). Adaptive: raise ℓmax only while the criterion improves.</summary>
    [Parameter]
    public FrequencyMarching Marching { get; set; } = FrequencyMarching.Fixed;

    /// <summary>With a CTF: pixels of delocalised signal kept beyond each edge of a projection (default 0).</summary>
    [Parameter]
    public int FilterMargin { get; set; } = ApproxEmRequest.DefaultFilterMargin;

    /// <summary>Scale the initial volume to the data first (the most likely amplitude): for real or preprocessed micrographs.</summary>
    [Parameter]
    public SwitchParameter FitInitialScale { get; set; }

    /// <summary>With a CTF: micrographs whose mean defocus differs by at most this many Å share one defocus group (default 0).</summary>
    [Parameter]
    public double DefocusGroupTolerance { get; set; }

    private readonly List<PatchSet> _sets = new();

    protected override void ProcessRecord() => _sets.Add(PatchSet);

    protected override void EndProcessing()
    {
        if (_sets.Count == 0)
        {
            return;
        }

        if (_sets.Count > 1)
        {
            Fail($"{_sets.Count} patch sets came down the pipeline; Invoke-ApproxEm reconstructs from one. " +
                $"Pipe several micrographs into one Get-PatchSet instead.",
                "MultiplePatchSets", ErrorCategory.InvalidArgument, _sets[1]);
        }

        var patches = _sets[0];
        RequireNative(fftw: true, blas: true);
        var initial = InitialVolume == null ? null : VolumeInput.ForInitialVolume(this, InitialVolume);
        if (Reference != null)
        {
            RequireFiniteVolume(Reference, "reference");
        }

        string? checkpointPath = CheckpointPath == null ? null : ResolveCheckpoint();
        int seed = Seed ?? DrawSeed();
        var plan = Resolve(Request(patches, initial, checkpointPath, seed));
        if (plan.EstimateNoiseVariance)
        {
            WriteVerbose($"σ² is estimated in every M-step, starting from {plan.NoiseVariance:g6} (the patches' mean square when not given).");
        }

        if (plan.ForwardModel != null)
        {
            var forward = plan.ForwardModel;
            WriteVerbose($"Forward model with image filters: {forward.GroupCount} filter group(s) for {forward.MicrographCount} " +
                $"micrograph(s) ({string.Join("; ", forward.Filters.Select(filter => filter.ToString()))}); projections in " +
                $"{forward.BoxSize}² boxes, correlation FFT {forward.FftSize(0)}².");
        }

        if (plan.HalfSets != null)
        {
            WriteVerbose($"Gold-standard {plan.HalfSets}.");
        }

        if (plan.HeldOut != null)
        {
            WriteVerbose($"{plan.HeldOut.Length} of {plan.Patches.Count} patches are held out of every M-step; their log-likelihood " +
                $"chooses the returned map.");
        }

        if (initial == null && !(Resume && checkpointPath != null && File.Exists(checkpointPath)))
        {
            WriteWarning($"No -InitialVolume: starting from random coefficients (seed {seed}). " +
                $"As the paper reports, the EM usually does not converge to the right structure from a random start; " +
                $"give an initial guess (e.g. a predicted or low-pass filtered model) when you have one.");
        }

        if (checkpointPath != null && !Resume && File.Exists(checkpointPath))
        {
            RefuseToReplaceANonCheckpoint(checkpointPath);
            WriteWarning($"Replacing the existing checkpoint '{checkpointPath}' (no -Resume: the run starts afresh). " +
                $"Add -Resume to continue from it instead.");
        }

        string held = plan.Patches.HoldsAll ? "" : $" ({plan.Patches.HeldCount} held by rank {World.Rank} of {World.Size})";
        WriteVerbose($"Approximate EM: {plan.Patches.Count} patches{held} of {plan.Patches.PatchSize}², σ² = {plan.NoiseVariance:g4}, " +
            $"v₀ = {plan.EmptyProbability}, seed {seed}, {plan.Threads} threads; " +
            $"stages ℓmax {string.Join("/", plan.EllMax)}, K {string.Join("/", plan.Rotations.Select(set => set.Count))}, " +
            $"S {string.Join("/", plan.StochasticFactor)}, iterations {string.Join("/", plan.MaxIterations)}.");
        var registers = EStep.Registers;
        WriteVerbose($"E-step: {Precision} precision on {registers.Bits}-bit registers, " +
            $"{registers.SingleLanes} rotations per register in single precision, {registers.DoubleLanes} in double.");
        var result = Run(plan, checkpointPath);
        if (result.Regularization > 0)
        {
            WriteWarning($"{result.RegularizedIterations} M-step(s) found C not positive definite and added a Tikhonov term " +
                $"(largest λ = {result.Regularization:g3}); see History.Regularization.");
        }

        WriteObject(result);
    }

    /// <summary>The request as bound: the schedule parameters go as given (null = the paper's defaults, applied by Core).</summary>
    private ApproxEmRequest Request(PatchSet patches, VolumeInput? initial, string? checkpointPath, int seed) => new()
    {
        Patches = patches,
        InitialVolume = initial?.Voxels,
        InitialCoefficients = initial?.FourierBessel,
        EllMax = EllMax,
        RotationCount = RotationCount,
        Rotations = RotationSet,
        StochasticFactor = StochasticFactor,
        MaxIterations = MaxIterations,
        Tolerance = Tolerance,
        NoiseVariance = MyInvocation.BoundParameters.ContainsKey(nameof(NoiseVariance)) ? NoiseVariance : null,
        EmptyProbability = EmptyProbability,
        Seed = seed,
        Threads = ThrottleLimit,
        PosteriorCutoff = PosteriorCutoff,
        Precision = Precision,
        Reference = Reference,
        CheckpointPath = checkpointPath,
        Resume = Resume.IsPresent,
        MStep = MStep,
        Prior = Prior,
        Tau2Fudge = Tau2Fudge,
        EstimateNoiseVariance = EstimateNoiseVariance.IsPresent,
        HalfSet = HalfSet.IsPresent,
        HalfMapPatience = HalfMapPatience,
        Marching = Marching,
        HeldOutFraction = MyInvocation.BoundParameters.ContainsKey(nameof(HeldOutFraction)) ? HeldOutFraction : null,
        FilterMargin = FilterMargin,
        FitInitialScale = FitInitialScale.IsPresent,
        DefocusGroupTolerance = DefocusGroupTolerance,
        Communicator = World,
    };

    /// <summary>Core's one check of the request, its ErrorId reported as a terminating error.</summary>
    private ApproxEmPlan Resolve(ApproxEmRequest request)
    {
        ApproxEmPlan? plan = null;
        try
        {
            plan = request.Resolve();
        }
        catch (ApproxEmInputException ex)
        {
            Fail(ex, ex.ErrorId, ErrorCategory.InvalidArgument, request.Patches);
        }

        return plan;
    }

    /// <summary>Without -Resume an existing checkpoint is replaced (a fresh start), but never a file that is not one.</summary>
    private void RefuseToReplaceANonCheckpoint(string checkpointPath)
    {
        try
        {
            ApproxEmCheckpoint.Read(checkpointPath);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            Fail(new IOException($"'{checkpointPath}' exists and is not an EM checkpoint ({ex.Message}), so it is not overwritten. " +
                $"Give -CheckpointPath a new file name, or delete the file.", ex),
                 "CheckpointPathNotCheckpoint", ErrorCategory.ResourceExists, checkpointPath);
        }
    }

    /// <summary>Runs the plan on a worker thread with progress pumped here; checkpoint failures become their ErrorIds.</summary>
    private ApproxEmResult Run(ApproxEmPlan plan, string? checkpointPath)
    {
        ApproxEmResult? result = null;
        try
        {
            result = RunPumped<ApproxEmProgress, ApproxEmResult>(
                (progress, token) => ApproxEmReconstruction.Run(plan, progress, token), OnReport);
        }
        catch (CheckpointMismatchException ex)
        {
            Fail(ex, "CheckpointMismatch", ErrorCategory.InvalidData, checkpointPath);
        }
        catch (InvalidDataException ex)
        {
            Fail(ex, "CheckpointUnreadable", ErrorCategory.InvalidData, checkpointPath);
        }
        catch (CryoEmPS.Core.IO.FileLockedException ex)
        {
            Fail(ex, "CheckpointInUse", ErrorCategory.ResourceBusy, checkpointPath);
        }
        catch (IOException ex) when (checkpointPath != null)
        {
            Fail(ex, "CheckpointWriteFailed", ErrorCategory.WriteError, checkpointPath);
        }
        catch (UnauthorizedAccessException ex) when (checkpointPath != null)
        {
            Fail(ex, "CheckpointAccessDenied", ErrorCategory.PermissionDenied, checkpointPath);
        }
        finally
        {
            ProgressCompleted(ProgressId, Activity);
        }

        return result;
    }

    /// <summary>The provider path of -CheckpointPath; its folder must exist and it must not be a folder.</summary>
    private string ResolveCheckpoint()
    {
        string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(CheckpointPath);
        string? folder = Path.GetDirectoryName(path);
        if (string.IsNullOrEmpty(folder) || !Directory.Exists(folder))
        {
            Fail(new DirectoryNotFoundException($"The folder of the checkpoint '{path}' does not exist. Create it first."),
                "CheckpointFolderNotFound", ErrorCategory.ObjectNotFound, CheckpointPath);
        }
        if (Directory.Exists(path))
        {
            Fail(new IOException($"The checkpoint path '{path}' is a folder; give a file name, " +
                $"e.g. -CheckpointPath {System.IO.Path.Combine(CheckpointPath!, "em.ckpt")}."),
                "CheckpointPathIsFolder", ErrorCategory.InvalidArgument, CheckpointPath);
        }
        return path;
    }

    private void OnReport(ApproxEmProgress report)
    {
        if (report.Message != null)
        {
            WriteVerbose(report.Message);
        }
        string logLikelihood = double.IsNaN(report.LastLogLikelihoodPerPatch)
            ? ""
            : $", LL/patch {report.LastLogLikelihoodPerPatch:0.####}";
        string status = $"Stage {report.Stage}/{report.StageCount} (ℓmax {report.EllMax}), " +
            $"iteration {report.Iteration}/{report.MaxIterations}: {report.Phase}{logLikelihood}";
        if (report.Completed != null)
        {
            var row = report.Completed;
            string fsc = double.IsNaN(row.FscShell) ? "" : $", FSC shell {row.FscShell:0.##}";
            WriteVerbose($"Stage {row.Stage} (ℓmax {row.EllMax}, K {row.RotationCount}, S {row.StochasticFactor}) " +
                $"iteration {row.Iteration}: LL {row.LogLikelihood:0.###} ({row.LogLikelihoodPerPatch:0.####}/patch), " +
                $"v {row.EmptyProbability:0.####}, {row.Seconds:0.#} s{fsc}");
            Progress(ProgressId, Activity, status, (int)(100 * report.Fraction), report.SecondsRemaining, force: true);
        }
        else
        {
            Progress(ProgressId, Activity, status, (int)(100 * report.Fraction), report.SecondsRemaining);
        }
    }
}
