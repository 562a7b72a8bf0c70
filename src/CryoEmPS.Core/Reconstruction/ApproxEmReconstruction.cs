using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// Algorithm 1 on the Fourier–Bessel model: runs a checked request (<see cref="ApproxEmRequest.Resolve"/>), builds one
/// <see cref="FourierBesselModel"/> per stage, marches frequencies by zero-padding the coefficients
/// (<see cref="FourierBesselVolume.WithEllMax"/>) and synthesises the final L³ volume. The EM itself
/// (<see cref="ApproxEm"/>) sees only <see cref="ILinearProjectionModel"/>.
/// </summary>
public static class ApproxEmReconstruction
{
    /// <summary>Checks <paramref name="request"/> (<see cref="ApproxEmRequest.Resolve"/>) and runs it.</summary>
    public static ApproxEmResult Run(ApproxEmRequest request, IProgress<ApproxEmProgress>? progress = null,
        CancellationToken token = default)
        => Run(request.Resolve(), progress, token);

    /// <summary>
    /// Runs a checked plan: one <see cref="ApproxEmStage"/> per stage for <see cref="ApproxEm.Run"/>, then the result echoing the plan.
    /// </summary>
    public static ApproxEmResult Run(ApproxEmPlan plan, IProgress<ApproxEmProgress>? progress = null, CancellationToken token = default)
    {
        var (x0, source) = Initial(plan);
        int size = plan.Patches.PatchSize;
        double voxelSize = plan.Patches.PixelSize > 0 ? plan.Patches.PixelSize : x0.VoxelSize > 0 ? x0.VoxelSize : plan.Reference?.VoxelSize ?? 0;
        var bases = plan.EllMax.Select(ellMax => FourierBesselBasis.Create(size, ellMax)).ToArray();
        var stages = new ApproxEmStage[plan.StageCount];
        for (int i = 0; i < stages.Length; i++)
        {
            stages[i] = new ApproxEmStage(FourierBesselModel.Get(size, plan.EllMax[i]), plan.Rotations[i], plan.StochasticFactor[i],
                plan.MaxIterations[i], plan.Tolerance[i], plan.EllMax[i]);
        }
        var settings = new ApproxEmSettings
        {
            Stages = stages, NoiseVariance = plan.NoiseVariance, EmptyProbability = plan.EmptyProbability, Seed = plan.Seed,
            Threads = plan.Threads, PosteriorCutoff = plan.PosteriorCutoff, Precision = plan.Precision, Reference = plan.Reference,
            CheckpointPath = plan.CheckpointPath, Resume = plan.Resume,
            MStep = plan.MStep, Prior = plan.Prior, Tau2Fudge = plan.Tau2Fudge, EstimateNoiseVariance = plan.EstimateNoiseVariance,
            HalfSets = plan.HalfSets, HalfMapPatience = plan.HalfMapPatience, HeldOut = plan.HeldOut,
            AdaptiveMarching = plan.Marching == FrequencyMarching.Adaptive, ForwardModel = plan.ForwardModel,
            Communicator = plan.Communicator,
            Lift = (stage, x) => new FourierBesselVolume(bases[stage - 1], x, voxelSize).WithEllMax(plan.EllMax[stage]).Coefficients,
            Synthesize = (stage, x) => new FourierBesselVolume(bases[stage], x, voxelSize).ToVolume(),
        };
        double initialScale = 1;
        var coefficients = x0.Coefficients;
        if (plan.FitInitialScale)
        {
            var forward = plan.ForwardModel ?? new ForwardModel(size);
            initialScale = InitialScale.Fit(forward, stages[0].Model, plan.Rotations[0].Rotations, coefficients, plan.Patches,
                plan.NoiseVariance, plan.EmptyProbability, plan.Seed, plan.Threads, token, plan.World);
            coefficients = coefficients.Select(value => initialScale * value).ToArray();
            progress?.Report(new ApproxEmProgress
            {
                Stage = 1, StageCount = plan.StageCount, Phase = "initial scale",
                Message = $"Initial volume scaled by {initialScale:g4} to the data (the most likely amplitude).",
            });
        }

        var run = ApproxEm.Run(plan.Patches, coefficients, settings, progress, token);
        var estimate = new FourierBesselVolume(bases[^1], run.Coefficients, voxelSize, "ApproxEm");
        var volume = estimate.ToVolume();
        volume.VoxelSize = voxelSize;
        volume.Name = "ApproxEm";
        var halves = run.HalfCoefficients?.Select((x, i) => new FourierBesselVolume(bases[^1], x, voxelSize, $"ApproxEm half {i + 1}"))
            .ToArray();
        var halfVolumes = halves?.Select(half =>
        {
            var map = half.ToVolume();
            map.VoxelSize = voxelSize;
            map.Name = half.Name;
            return map;
        }).ToArray();
        if (halfVolumes != null)
        {
            volume = FscWeighted(volume, halfVolumes[0], halfVolumes[1]);
        }
        return new ApproxEmResult
        {
            Volume = volume, FourierBesselVolume = estimate, EmptyProbability = run.EmptyProbability, History = run.History.ToArray(),
            Seed = plan.Seed, PatchCount = plan.Patches.Count, NoiseVariance = run.NoiseVariance,
            InitialNoiseVariance = plan.NoiseVariance, NoiseVarianceEstimated = plan.EstimateNoiseVariance,
            MStep = plan.MStep, Prior = plan.Prior, Tau2Fudge = plan.Tau2Fudge, HalfSets = plan.HalfSets,
            HalfFourierBesselVolume = halves, HeldOutCount = plan.HeldOut?.Length ?? 0, Marching = plan.Marching,
            StageResultRows = run.StageResultRows, PatchEmptyProbability = run.PatchEmptyProbability,
            HalfVolume = halfVolumes,
            InitialEmptyProbability = plan.EmptyProbability, EllMaxSchedule = plan.EllMax.ToArray(),
            RotationCount = plan.Rotations.Select(set => set.Count).ToArray(), StochasticFactor = plan.StochasticFactor.ToArray(),
            MaxIterations = plan.MaxIterations.ToArray(), Tolerance = plan.Tolerance.ToArray(), Threads = plan.Threads,
            PosteriorCutoff = plan.PosteriorCutoff, Precision = plan.Precision,
            InitialVolumeSource = run.Resumed ? source + " (resumed from checkpoint)" : source,
            CheckpointPath = plan.CheckpointPath, Resumed = run.Resumed, InitialScale = initialScale,
        };
    }

    /// <summary>
    /// The FSC-weighted combination of two half maps (Rosenthal &amp; Henderson 2003): their mean <paramref name="mean"/> with shell k
    /// multiplied by C_ref = √(2F_k/(1+F_k)), F_k their FSC (0 where F_k ≤ 0), the expected correlation of the mean with the
    /// noise-free map. It damps the shells the halves do not reproduce; the FSC of the map against anything is unchanged where
    /// F_k &gt; 0 (a positive factor per shell).
    /// </summary>
    public static Volume FscWeighted(Volume mean, Volume half1, Volume half2)
    {
        var fsc = Evaluation.Fsc.Compute(half1, half2, ApproxEm.HalfMapThreshold);
        var weight = fsc.Curve.Select(shell => shell.Correlation > 0 ? Math.Sqrt(2 * shell.Correlation / (1 + shell.Correlation)) : 0)
            .ToArray();
        var weighted = Evaluation.Fsc.FilterShells(mean, weight);
        weighted.Name = mean.Name + " (FSC-weighted)";
        return weighted;
    }

    /// <summary>
    /// x₀ at the first stage's ℓmax and where it came from. Without an initial volume: Gaussian coefficients from the seed, scaled
    /// to the data's signal energy.
    /// </summary>
    public static (FourierBesselVolume Initial, string Source) Initial(ApproxEmPlan plan)
    {
        int size = plan.Patches.PatchSize;
        int firstEllMax = plan.EllMax[0];
        double voxelSize = plan.InitialCoefficients?.VoxelSize ?? plan.InitialVolume?.VoxelSize ?? plan.Reference?.VoxelSize ?? 0;
        if (plan.InitialCoefficients != null)
        {
            return (plan.InitialCoefficients.WithEllMax(firstEllMax), "FourierBesselVolume");
        }
        if (plan.InitialVolume != null)
        {
            return (FourierBesselTransform.Analyze(plan.InitialVolume, firstEllMax), "Volume");
        }
        var basis = FourierBesselBasis.Create(size, firstEllMax);
        var random = new SeededRandom(ApproxEm.IterationSeed(plan.Seed, -1, -1));
        var x = new double[basis.Count];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = NormalDeviate.Next(random);
        }
        // Scale so that a projection carries the data's mean signal energy per non-empty patch.
        double energy = PatchSetShares.SumOfSquares(plan.Patches, null, plan.World);
        // An estimated σ² starts at the patches' mean square (signal and noise): take half of it as the noise here.
        double noiseVariance = plan.EstimateNoiseVariance ? 0.5 * plan.NoiseVariance : plan.NoiseVariance;
        double signal = Math.Max(energy / plan.Patches.Count - size * size * noiseVariance, 1e-12)
            / Math.Max(1e-3, 1 - plan.EmptyProbability);
        var model = FourierBesselModel.Get(size, firstEllMax);
        var matrix = new double[size * size * x.Length];
        model.ProjectionMatrix(Rotation.Identity, matrix);
        double projectionEnergy = 0;
        for (int i = 0; i < size * size; i++)
        {
            double pixel = 0;
            for (int j = 0; j < x.Length; j++)
            {
                pixel += matrix[i * x.Length + j] * x[j];
            }
            projectionEnergy += pixel * pixel;
        }
        double scale = projectionEnergy > 0 ? Math.Sqrt(signal / projectionEnergy) : 1;
        for (int i = 0; i < x.Length; i++)
        {
            x[i] *= scale;
        }
        return (new FourierBesselVolume(basis, x, voxelSize, "random"), "Random");
    }
}
