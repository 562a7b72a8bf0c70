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

    /// <summary>x₀: a Volume (expanded at the first stage's ℓmax) or a FourierBesselVolume.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNull]
    public object? InitialVolume { get; set; }

    [Parameter]
    public double NoiseVariance { get; set; } = double.NaN;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public int[] EllMax { get; set; } = (int[])ApproxEmReconstruction.PaperEllMax.Clone();

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

    private readonly List<PatchSet> _sets = new();

    protected override void ProcessRecord() => _sets.Add(PatchSet);

    protected override void EndProcessing()
    {
        if (_sets.Count == 0) return;
        if (_sets.Count > 1)
            Fail($"{_sets.Count} patch sets came down the pipeline; Invoke-ApproxEm reconstructs from one. Pipe several micrographs into one Get-PatchSet instead.", "MultiplePatchSets", ErrorCategory.InvalidArgument, _sets[1]);
        var patches = _sets[0];
        RequireNative(fftw: true, blas: true);
        int stages = EllMax.Length;

        double sigma2 = NoiseVariance;
        if (!MyInvocation.BoundParameters.ContainsKey(nameof(NoiseVariance)))
        {
            sigma2 = patches.NoiseVariance;
            if (double.IsNaN(sigma2))
                Fail("The noise variance σ² is unknown: the patch set does not carry one (its micrographs had none, or they disagreed). Give -NoiseVariance, the per-pixel variance of the micrograph noise.",
                     "NoiseVarianceUnknown", ErrorCategory.InvalidArgument, patches);
            WriteVerbose($"σ² = {sigma2:g6} from the patch set.");
        }

        if (RotationSet != null && RotationCount != null)
            Fail("Give -RotationCount or -RotationSet, not both.", "RotationScheduleConflict", ErrorCategory.InvalidArgument, null);
        RotationSet[] rotations;
        if (RotationSet != null) rotations = Expand(RotationSet, stages, "RotationSet");
        else
        {
            var counts = RotationCount ?? (stages == 3 ? ApproxEmReconstruction.PaperRotationCount : Enumerable.Repeat(ApproxEmReconstruction.PaperRotationCount[0], stages).ToArray());
            var byCount = new Dictionary<int, RotationSet>();
            rotations = Expand(counts, stages, "RotationCount").Select(k => byCount.TryGetValue(k, out var s) ? s : byCount[k] = RotationGrid.SuperFibonacci(k)).ToArray();
        }
        var sf = Expand(StochasticFactor ?? (stages == 3 ? ApproxEmReconstruction.PaperStochasticFactor : Enumerable.Repeat(1.0, stages).ToArray()), stages, "StochasticFactor");
        var it = Expand(MaxIterations ?? (stages == 3 ? ApproxEmReconstruction.PaperMaxIterations : Enumerable.Repeat(5, stages).ToArray()), stages, "MaxIterations");
        var tol = Expand(Tolerance ?? new[] { double.NegativeInfinity }, stages, "Tolerance");

        Volume? initVolume = null; FourierBesselVolume? initFb = null;
        if (InitialVolume != null)
        {
            object o = InitialVolume is PSObject ps ? ps.BaseObject : InitialVolume;
            if (o is Volume v) initVolume = v;
            else if (o is FourierBesselVolume f) initFb = f;
            else if (o is ApproxEmResult prev) initFb = prev.FourierBesselVolume;
            else Fail($"-InitialVolume must be a Volume or a FourierBesselVolume; got {o.GetType().FullName}.", "InitialVolumeInvalidType", ErrorCategory.InvalidType, o);
        }

        if (initVolume != null) RequireFiniteVolume(initVolume, "initial volume");
        if (Reference != null) RequireFiniteVolume(Reference, "reference");

        int seed = Seed ?? DrawSeed();
        if (initVolume == null && initFb == null && !(Resume && CheckpointPath != null && File.Exists(ResolveCheckpoint())))
            WriteWarning($"No -InitialVolume: starting from random coefficients (seed {seed}). As the paper reports, the EM usually does not converge to the right structure from a random start; give an initial guess (e.g. a predicted or low-pass filtered model) when you have one.");

        string? ckPath = CheckpointPath == null ? null : ResolveCheckpoint();
        if (ckPath != null && !Resume && File.Exists(ckPath))
        {
            // Without -Resume an existing checkpoint is replaced (a fresh start), but never a file that is not one.
            try { ApproxEmCheckpoint.Read(ckPath); }
            catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                Fail(new IOException($"'{ckPath}' exists and is not an EM checkpoint ({ex.Message}), so it is not overwritten. Give -CheckpointPath a new file name, or delete the file.", ex),
                     "CheckpointPathNotCheckpoint", ErrorCategory.ResourceExists, ckPath);
            }
            WriteWarning($"Replacing the existing checkpoint '{ckPath}' (no -Resume: the run starts afresh). Add -Resume to continue from it instead.");
        }
        var request = new ApproxEmRequest
        {
            Patches = patches, InitialVolume = initVolume, InitialCoefficients = initFb, EllMax = EllMax, Rotations = rotations, StochasticFactor = sf,
            MaxIterations = it, Tolerance = tol, NoiseVariance = sigma2, EmptyProbability = EmptyProbability, Seed = seed, Threads = ThrottleLimit,
            PosteriorCutoff = PosteriorCutoff, Precision = Precision, Reference = Reference, CheckpointPath = ckPath, Resume = Resume.IsPresent,
        };
        try { ApproxEmReconstruction.Validate(request); }
        catch (ApproxEmInputException ex) { Fail(ex, ex.ErrorId, ErrorCategory.InvalidArgument, patches); }

        WriteVerbose($"Approximate EM: {patches.Count} patches of {patches.PatchSize}², σ² = {sigma2:g4}, v₀ = {EmptyProbability}, seed {seed}, {ThrottleLimit} threads; stages ℓmax {string.Join("/", EllMax)}, K {string.Join("/", rotations.Select(r => r.Count))}, S {string.Join("/", sf)}, iterations {string.Join("/", it)}.");
        var registers = EStep.Registers;
        WriteVerbose($"E-step: {Precision} precision on {registers.Bits}-bit registers, {registers.SingleLanes} rotations per register in single precision, {registers.DoubleLanes} in double.");
        ApproxEmResult result = null!;
        try
        {
            result = RunPumped<ApproxEmProgress, ApproxEmResult>((progress, token) => ApproxEmReconstruction.Run(request, progress, token), OnReport);
        }
        catch (ApproxEmInputException ex) { Fail(ex, ex.ErrorId, ErrorCategory.InvalidArgument, patches); }
        catch (CheckpointMismatchException ex) { Fail(ex, "CheckpointMismatch", ErrorCategory.InvalidData, ckPath); }
        catch (InvalidDataException ex) { Fail(ex, "CheckpointUnreadable", ErrorCategory.InvalidData, ckPath); }
        catch (IOException ex) when (ckPath != null) { Fail(ex, "CheckpointWriteFailed", ErrorCategory.WriteError, ckPath); }
        catch (UnauthorizedAccessException ex) when (ckPath != null) { Fail(ex, "CheckpointAccessDenied", ErrorCategory.PermissionDenied, ckPath); }
        finally { ProgressCompleted(ProgressId, Activity); }
        if (result.Regularization > 0)
            WriteWarning($"{result.RegularizedIterations} M-step(s) found C not positive definite and added a Tikhonov term (largest λ = {result.Regularization:g3}); see History.Regularization.");
        WriteObject(result);
    }

    private string ResolveCheckpoint()
    {
        string p = SessionState.Path.GetUnresolvedProviderPathFromPSPath(CheckpointPath);
        string? dir = Path.GetDirectoryName(p);
        if (string.IsNullOrEmpty(dir) || !Directory.Exists(dir))
            Fail(new DirectoryNotFoundException($"The folder of the checkpoint '{p}' does not exist. Create it first."), "CheckpointFolderNotFound", ErrorCategory.ObjectNotFound, CheckpointPath);
        if (Directory.Exists(p))
            Fail(new IOException($"The checkpoint path '{p}' is a folder; give a file name, e.g. -CheckpointPath {System.IO.Path.Combine(CheckpointPath!, "em.ckpt")}."), "CheckpointPathIsFolder", ErrorCategory.InvalidArgument, CheckpointPath);
        return p;
    }

    private void OnReport(ApproxEmProgress p)
    {
        if (p.Message != null) WriteVerbose(p.Message);
        string ll = double.IsNaN(p.LastLogLikelihoodPerPatch) ? "" : $", LL/patch {p.LastLogLikelihoodPerPatch:0.####}";
        string status = $"Stage {p.Stage}/{p.StageCount} (ℓmax {p.EllMax}), iteration {p.Iteration}/{p.MaxIterations}: {p.Phase}{ll}";
        if (p.Completed != null)
        {
            var r = p.Completed;
            string fsc = double.IsNaN(r.FscShell) ? "" : $", FSC shell {r.FscShell:0.##}";
            WriteVerbose($"Stage {r.Stage} (ℓmax {r.EllMax}, K {r.RotationCount}, S {r.StochasticFactor}) iteration {r.Iteration}: LL {r.LogLikelihood:0.###} ({r.LogLikelihoodPerPatch:0.####}/patch), v {r.EmptyProbability:0.####}, {r.Seconds:0.#} s{fsc}");
            Progress(ProgressId, Activity, status, (int)(100 * p.Fraction), p.SecondsRemaining, force: true);
        }
        else Progress(ProgressId, Activity, status, (int)(100 * p.Fraction), p.SecondsRemaining);
    }

    private T[] Expand<T>(T[] values, int stages, string name)
    {
        if (values.Length == stages) return values;
        if (values.Length == 1) return Enumerable.Repeat(values[0], stages).ToArray();
        Fail($"-{name} has {values.Length} values but -EllMax has {stages} stages. Give one value per stage, or a single value for every stage.", "ScheduleLengthMismatch", ErrorCategory.InvalidArgument, values);
        return null!;
    }
}
