using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// Algorithm 1 on the Fourier–Bessel model: validates a request, builds one <see cref="FourierBesselModel"/> per
/// stage, marches frequencies by zero-padding the coefficients (<see cref="FourierBesselVolume.WithEllMax"/>) and
/// synthesises the final L³ volume. The EM itself (<see cref="ApproxEm"/>) sees only <see cref="ILinearProjectionModel"/>.
/// </summary>
public static class ApproxEmReconstruction
{
    /// <summary>The paper's schedule (Section 4.1): ℓmax 6/10/14, K 3392/3392/1376, S 1/0.5/0.25, 5/5/10 iterations.</summary>
    public static readonly int[] PaperEllMax = { 6, 10, 14 };
    public static readonly int[] PaperRotationCount = { 3392, 3392, 1376 };
    public static readonly double[] PaperStochasticFactor = { 1, 0.5, 0.25 };
    public static readonly int[] PaperMaxIterations = { 5, 5, 10 };

    public static void Validate(ApproxEmRequest r)
    {
        var p = r.Patches ?? throw new ApproxEmInputException("PatchSetMissing", "No patch set was given.");
        if (p.Count == 0) throw new ApproxEmInputException("EmptyPatchSet", "The patch set holds no patches. Make one with Get-PatchSet from micrographs whose side is at least the patch size.");
        int l = p.PatchSize, stages = r.EllMax.Length;
        if (stages == 0) throw new ApproxEmInputException("ScheduleEmpty", "-EllMax needs at least one stage.");
        if (r.Rotations.Length != stages || r.StochasticFactor.Length != stages || r.MaxIterations.Length != stages || r.Tolerance.Length != stages)
            throw new ApproxEmInputException("ScheduleLengthMismatch",
                $"The schedule arrays disagree: -EllMax has {stages} stages, -RotationCount/-RotationSet {r.Rotations.Length}, -StochasticFactor {r.StochasticFactor.Length}, -MaxIterations {r.MaxIterations.Length}, -Tolerance {r.Tolerance.Length}. Give one value per stage, or a single value for all stages.");
        int maxEll = FourierBesselBasis.MaxEll(l);
        for (int i = 0; i < stages; i++)
        {
            if (r.EllMax[i] < 0 || r.EllMax[i] > maxEll) throw new ApproxEmInputException("EllMaxOutOfRange", $"ℓmax = {r.EllMax[i]} (stage {i + 1}) is outside 0..{maxEll}, the range the Fourier–Bessel basis has for L = {l}.");
            if (i > 0 && r.EllMax[i] <= r.EllMax[i - 1]) throw new ApproxEmInputException("EllMaxNotIncreasing", $"-EllMax must increase from stage to stage (frequency marching); got {string.Join(", ", r.EllMax)}.");
            if (!(r.StochasticFactor[i] > 0 && r.StochasticFactor[i] <= 1)) throw new ApproxEmInputException("StochasticFactorOutOfRange", $"The stochastic factor S must satisfy 0 < S ≤ 1; stage {i + 1} has {r.StochasticFactor[i]}.");
            if ((int)Math.Floor(r.StochasticFactor[i] * p.Count) < 1) throw new ApproxEmInputException("StochasticFactorTooSmall", $"⌊S·P⌋ = ⌊{r.StochasticFactor[i]}·{p.Count}⌋ = 0 patches in stage {i + 1}: raise -StochasticFactor.");
            if (r.MaxIterations[i] < 0) throw new ApproxEmInputException("MaxIterationsOutOfRange", "-MaxIterations must be 0 or more.");
            if (double.IsNaN(r.Tolerance[i])) throw new ApproxEmInputException("ToleranceInvalid", "-Tolerance must be a number.");
            if (r.Rotations[i] == null || r.Rotations[i].Count == 0) throw new ApproxEmInputException("RotationSetEmpty", $"Stage {i + 1} has no rotations.");
        }
        if (!(r.NoiseVariance > 0) || double.IsInfinity(r.NoiseVariance))
            throw new ApproxEmInputException("NoiseVarianceInvalid", $"The noise variance σ² must be positive and finite; got {r.NoiseVariance}. Give -NoiseVariance, the per-pixel variance of the micrograph noise.");
        if (!(r.EmptyProbability >= 0 && r.EmptyProbability < 1)) throw new ApproxEmInputException("EmptyProbabilityOutOfRange", $"-EmptyProbability v₀ must lie in [0, 1); got {r.EmptyProbability}.");
        if (r.InitialVolume != null && (!r.InitialVolume.IsCube || r.InitialVolume.SizeX != l))
            throw new ApproxEmInputException("InitialVolumeSizeMismatch", $"The initial volume is {r.InitialVolume.SizeZ}×{r.InitialVolume.SizeY}×{r.InitialVolume.SizeX} but the patches are {l}×{l}: the volume must be an {l}³ cube (resize it with Resize-EmVolume).");
        if (r.InitialCoefficients != null && r.InitialCoefficients.Size != l)
            throw new ApproxEmInputException("InitialVolumeSizeMismatch", $"The initial Fourier–Bessel volume has L = {r.InitialCoefficients.Size} but the patches are {l}×{l}.");
        if (r.Reference != null && (!r.Reference.IsCube || r.Reference.SizeX != l))
            throw new ApproxEmInputException("ReferenceSizeMismatch", $"The reference is {r.Reference.SizeZ}×{r.Reference.SizeY}×{r.Reference.SizeX}; it must be an {l}³ cube like the patches.");
        if (r.Resume && string.IsNullOrEmpty(r.CheckpointPath)) throw new ApproxEmInputException("ResumeWithoutCheckpoint", "-Resume needs -CheckpointPath, the checkpoint file to continue from.");
    }

    /// <summary>x₀ at the first stage's ℓmax and where it came from. Without an initial volume: Gaussian coefficients from the seed, scaled to the data's signal energy.</summary>
    public static (FourierBesselVolume Initial, string Source) Initial(ApproxEmRequest r)
    {
        int l = r.Patches.PatchSize, ell0 = r.EllMax[0];
        double voxel = r.InitialCoefficients?.VoxelSize ?? r.InitialVolume?.VoxelSize ?? r.Reference?.VoxelSize ?? 0;
        if (r.InitialCoefficients != null) return (r.InitialCoefficients.WithEllMax(ell0), "FourierBesselVolume");
        if (r.InitialVolume != null) return (FourierBesselTransform.Analyze(r.InitialVolume, ell0), "Volume");
        var basis = FourierBesselBasis.Create(l, ell0);
        var rng = new Random(ApproxEm.IterationSeed(r.Seed, -1, -1));
        var x = new double[basis.Count];
        for (int i = 0; i < x.Length; i++) x[i] = NormalDeviate.Next(rng);
        // Scale so that a projection carries the data's mean signal energy per non-empty patch.
        double e = 0; var d = r.Patches.Data; foreach (var v in d) e += v * v;
        double signal = Math.Max(e / r.Patches.Count - l * l * r.NoiseVariance, 1e-12) / Math.Max(1e-3, 1 - r.EmptyProbability);
        var model = FourierBesselModel.Get(l, ell0);
        var b = new double[l * l * x.Length]; model.ProjectionMatrix(Rotation.Identity, b);
        double pe = 0;
        for (int i = 0; i < l * l; i++) { double s = 0; for (int j = 0; j < x.Length; j++) s += b[i * x.Length + j] * x[j]; pe += s * s; }
        double scale = pe > 0 ? Math.Sqrt(signal / pe) : 1;
        for (int i = 0; i < x.Length; i++) x[i] *= scale;
        return (new FourierBesselVolume(basis, x, voxel, "random"), "Random");
    }

    public static ApproxEmResult Run(ApproxEmRequest r, IProgress<ApproxEmProgress>? progress = null, CancellationToken token = default)
    {
        Validate(r);
        var (x0, source) = Initial(r);
        int l = r.Patches.PatchSize, n = r.EllMax.Length;
        double voxel = x0.VoxelSize > 0 ? x0.VoxelSize : r.Reference?.VoxelSize ?? 0;
        var bases = r.EllMax.Select(e => FourierBesselBasis.Create(l, e)).ToArray();
        var stages = new ApproxEmStage[n];
        for (int i = 0; i < n; i++)
            stages[i] = new ApproxEmStage(FourierBesselModel.Get(l, r.EllMax[i]), r.Rotations[i], r.StochasticFactor[i], r.MaxIterations[i], r.Tolerance[i], r.EllMax[i]);
        var settings = new ApproxEmSettings
        {
            Stages = stages, NoiseVariance = r.NoiseVariance, EmptyProbability = r.EmptyProbability, Seed = r.Seed, Threads = r.Threads,
            PosteriorCutoff = r.PosteriorCutoff, Precision = r.Precision, Reference = r.Reference, CheckpointPath = r.CheckpointPath, Resume = r.Resume,
            Lift = (si, x) => new FourierBesselVolume(bases[si - 1], x, voxel).WithEllMax(r.EllMax[si]).Coefficients,
            Synthesize = (si, x) => new FourierBesselVolume(bases[si], x, voxel).ToVolume(),
        };
        var run = ApproxEm.Run(r.Patches, x0.Coefficients, settings, progress, token);
        var fb = new FourierBesselVolume(bases[^1], run.Coefficients, voxel, "ApproxEm");
        var vol = fb.ToVolume(); vol.VoxelSize = voxel; vol.Name = "ApproxEm";
        return new ApproxEmResult
        {
            Volume = vol, FourierBesselVolume = fb, EmptyProbability = run.EmptyProbability, History = run.History.ToArray(), Seed = r.Seed,
            PatchCount = r.Patches.Count, NoiseVariance = r.NoiseVariance, InitialEmptyProbability = r.EmptyProbability,
            EllMaxSchedule = (int[])r.EllMax.Clone(), RotationCount = r.Rotations.Select(s => s.Count).ToArray(), StochasticFactor = (double[])r.StochasticFactor.Clone(),
            MaxIterations = (int[])r.MaxIterations.Clone(), Tolerance = (double[])r.Tolerance.Clone(), Threads = r.Threads, PosteriorCutoff = r.PosteriorCutoff,
            Precision = r.Precision, InitialVolumeSource = run.Resumed ? source + " (resumed from checkpoint)" : source, CheckpointPath = r.CheckpointPath, Resumed = run.Resumed,
        };
    }
}
