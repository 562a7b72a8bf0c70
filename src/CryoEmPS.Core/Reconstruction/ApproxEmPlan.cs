using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// A checked <see cref="ApproxEmRequest"/> with its defaults applied and one value per stage in every schedule list;
/// only <see cref="ApproxEmRequest.Resolve"/> makes one, and
/// <see cref="ApproxEmReconstruction.Run(ApproxEmPlan, IProgress{ApproxEmProgress}?, CancellationToken)"/> runs it.
/// </summary>
public sealed class ApproxEmPlan
{
    internal ApproxEmPlan(ApproxEmRequest request, PatchSet patches, int[] ellMax, RotationSet[] rotations, double[] stochasticFactor,
        int[] maxIterations, double[] tolerance, double noiseVariance, bool estimateNoiseVariance, HalfSets? halfSets,
        int[]? heldOut, ForwardModel? forwardModel)
    {
        ForwardModel = forwardModel;
        Patches = patches;
        InitialVolume = request.InitialVolume;
        InitialCoefficients = request.InitialCoefficients;
        EllMax = Array.AsReadOnly(ellMax);
        Rotations = Array.AsReadOnly(rotations);
        StochasticFactor = Array.AsReadOnly(stochasticFactor);
        MaxIterations = Array.AsReadOnly(maxIterations);
        Tolerance = Array.AsReadOnly(tolerance);
        NoiseVariance = noiseVariance;
        EstimateNoiseVariance = estimateNoiseVariance;
        HalfSets = halfSets;
        HeldOut = heldOut;
        Marching = request.Marching;
        MStep = request.MStep;
        Prior = request.Prior;
        Tau2Fudge = request.Tau2Fudge;
        HalfMapPatience = request.HalfMapPatience;
        EmptyProbability = request.EmptyProbability;
        Seed = request.Seed;
        Threads = request.Threads;
        PosteriorCutoff = request.PosteriorCutoff;
        Precision = request.Precision;
        Reference = request.Reference;
        CheckpointPath = request.CheckpointPath;
        Resume = request.Resume;
        FitInitialScale = request.FitInitialScale;
        Communicator = request.Communicator;
    }

    /// <summary>Scale x₀ to the data first (<see cref="ApproxEmRequest.FitInitialScale"/>).</summary>
    public bool FitInitialScale { get; }

    /// <summary>The processes the EM is spread over (null: this one alone).</summary>
    public Native.ICommunicator? Communicator { get; }

    /// <summary>The processes of the run: <see cref="Communicator"/>, or this one alone.</summary>
    internal Native.ICommunicator World => Communicator ?? Native.SingleProcess.Instance;

    public PatchSet Patches { get; }
    /// <summary>The observation model with each micrograph's CTF/whitening filter, grouped by defocus; null = the paper's (no filter).</summary>
    public ForwardModel? ForwardModel { get; }
    public Volume? InitialVolume { get; }
    public FourierBesselVolume? InitialCoefficients { get; }
    public int StageCount => EllMax.Count;
    public IReadOnlyList<int> EllMax { get; }
    public IReadOnlyList<RotationSet> Rotations { get; }
    public IReadOnlyList<double> StochasticFactor { get; }
    public IReadOnlyList<int> MaxIterations { get; }
    public IReadOnlyList<double> Tolerance { get; }
    /// <summary>σ² of the first E-step (given, or the patches' mean square when it is estimated).</summary>
    public double NoiseVariance { get; }
    /// <summary>True when the M-step re-estimates σ² (it was not given, or -EstimateNoiseVariance).</summary>
    public bool EstimateNoiseVariance { get; }
    /// <summary>The gold-standard halves, or null.</summary>
    public HalfSets? HalfSets { get; }
    /// <summary>The held-out patch indices (ascending; in no M-step), or null.</summary>
    public int[]? HeldOut { get; }
    public FrequencyMarching Marching { get; }
    public MStepMode MStep { get; }
    public ApproxEmPrior Prior { get; }
    public double Tau2Fudge { get; }
    public int HalfMapPatience { get; }
    public double EmptyProbability { get; }
    public int Seed { get; }
    public int Threads { get; }
    public double PosteriorCutoff { get; }
    public EStepPrecision Precision { get; }
    public Volume? Reference { get; }
    public string? CheckpointPath { get; }
    public bool Resume { get; }
}
