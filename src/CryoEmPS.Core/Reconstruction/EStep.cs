using System.Numerics;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The E-step of the approximate EM (eqs. 23–25, 31) done with FFTs.
/// For a patch I and a projection p = B(ω)x, ‖I − A_{s,ω}x‖² = ‖I‖² − 2⟨I, A_{s,ω}x⟩ + ‖A_{s,ω}x‖²: the cross
/// terms for every shift are one linear cross-correlation of I with p (one inverse FFT of size M ≥ B + L − 1 per
/// pair, B = L without a filter), and ‖A_{s,ω}x‖² is the energy of p inside the L×L window that lands in the patch
/// (direct box sums, once per rotation). Posteriors are normalised per patch with log-sum-exp.
/// <para>
/// Rotations are processed W at a time, one per SIMD lane (W = 4 doubles or 8 floats in a 256-bit register, 8 or 16 with
/// AVX-512: <see cref="ILanes{TSelf, T}"/>), so
/// every transform and element-wise step is plain vertical SIMD arithmetic (<see cref="LaneFft2D{T, TV}"/>); a lane does
/// exactly the scalar arithmetic of its rotation, so nothing depends on W.
/// Two passes (in <see cref="EStepKernel{T, TV}"/>): the likelihood pass, per patch over all rotations, the lag
/// log-likelihoods, their exponentials (kept) and the log-normaliser; the statistics pass, per rotation group over the
/// minibatch in patch order, the weights and the statistics b_ω, m_ω, W[s,ω]. Each output is summed in one fixed order, so
/// results are identical for any thread count.
/// </para>
/// </summary>
public static class EStep
{
    /// <summary>exp(x) is exactly 0 in double for x below this, which makes skipping such terms exact.</summary>
    internal const double UnderflowLog = -746.0;

    /// <summary><see cref="EStepPrecision.Auto"/> takes single precision when <see cref="SingleErrorBound"/> is at most this.</summary>
    public const double AutoSingleBound = 0.01;

    /// <summary>
    /// The E-step with the paper's observation model: no image filter, the uniform shift prior of eq. (32) with empty-patch
    /// probability <paramref name="emptyProbability"/>, and the uniform rotation prior.
    /// </summary>
    public static EStepResult Run(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x,
        PatchSet patches, int[] minibatch, double noiseVariance, double emptyProbability, EStepOptions? options = null,
        CancellationToken token = default)
    {
        var forward = new ForwardModel(model.ImageSize);
        return Run(forward, model, rotations, x, patches, minibatch, noiseVariance, new ShiftPrior(forward, emptyProbability),
            new RotationPrior(rotations.Count), options, token);
    }

    /// <summary>
    /// The E-step through the forward model <paramref name="forward"/> (stage 1: the projections B(ω)x; stage 2: each filter
    /// group's filter), with the priors as log-weights per lag and per rotation. The minibatch is split by filter group
    /// (the group of each patch's micrograph); each group's patches are scored against that group's filtered projections,
    /// and the result keeps each group's statistics in <see cref="EStepResult.Groups"/>. With one group (no filter, or the
    /// same filter everywhere) that is one pass over the whole minibatch. Its inputs must be valid
    /// (<see cref="ApproxEmSettings.Validate"/> checks them once per run): patches of the model's size, x of the model's
    /// length, σ² &gt; 0, a non-empty minibatch in ascending order.
    /// </summary>
    public static EStepResult Run(ForwardModel forward, ILinearProjectionModel model, IReadOnlyList<Rotation> rotations,
        ReadOnlySpan<double> x, PatchSet patches, int[] minibatch, double noiseVariance, ShiftPrior shiftPrior, RotationPrior rotationPrior,
        EStepOptions? options = null, CancellationToken token = default)
        => RunAndScore(forward, model, rotations, x, patches, minibatch, null, noiseVariance, shiftPrior, rotationPrior, options, token).Result;

    /// <summary>
    /// <see cref="Run(ForwardModel, ILinearProjectionModel, IReadOnlyList{Rotation}, ReadOnlySpan{double}, PatchSet, int[], double, ShiftPrior, RotationPrior, EStepOptions?, CancellationToken)"/>
    /// on <paramref name="minibatch"/>, and, from the same projections, the log-likelihood of the patches
    /// <paramref name="scoreOnly"/> (ascending; in no statistics; null or empty: none, Score null) — held-out patches scored at
    /// the cost of their per-pair work only.
    /// </summary>
    public static (EStepResult Result, EStepResult? Score) RunAndScore(ForwardModel forward, ILinearProjectionModel model,
        IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x, PatchSet patches, int[] minibatch, int[]? scoreOnly, double noiseVariance,
        ShiftPrior shiftPrior, RotationPrior rotationPrior, EStepOptions? options = null, CancellationToken token = default)
    {
        options ??= new EStepOptions();
        using var blas = OpenBlasThreads.Single();
        var projections = ForwardModel.Project(model, rotations, x, options.Threads, token);
        var result = Score(forward, rotations, projections, patches, minibatch, noiseVariance, shiftPrior, rotationPrior, options, token);
        EStepResult? score = null;
        // One rank's share of a split score may be empty; it still takes part (Auto precision is decided by all ranks together).
        if (scoreOnly != null && (scoreOnly.Length > 0 || options.World != null))
        {
            var likelihoodOnly = options.Copy(options.World, likelihoodOnly: true, progress: null);
            score = Score(forward, rotations, projections, patches, scoreOnly, noiseVariance, shiftPrior, rotationPrior, likelihoodOnly, token);
        }

        return (result, score);
    }

    /// <summary>The E-step of <paramref name="minibatch"/> against the unfiltered projections <paramref name="projections"/>.</summary>
    private static EStepResult Score(ForwardModel forward, IReadOnlyList<Rotation> rotations, double[] projections, PatchSet patches,
        int[] minibatch, double noiseVariance, ShiftPrior shiftPrior, RotationPrior rotationPrior, EStepOptions options,
        CancellationToken token)
    {
        var groupPatches = GroupMinibatch(forward, patches, minibatch);
        var filtered = new double[forward.GroupCount][];
        for (int group = 0; group < forward.GroupCount; group++)
        {
            filtered[group] = groupPatches[group].Length == 0
                ? Array.Empty<double>()
                : forward.Filter(group, projections, rotations.Count, options.Threads);
        }

        var precision = options.Precision == EStepPrecision.Auto
            ? AutoPrecision(forward, filtered, rotations.Count, patches, minibatch, noiseVariance, options)
            : options.Precision;
        if (minibatch.Length == 0)
        {
            // One rank's empty share of a split E-step: zeros of the shape its statistics would have.
            int size = options.LikelihoodOnly ? 0 : rotations.Count * forward.BoxSize * forward.BoxSize;
            return new EStepResult(patches.PatchSize, rotations.Count, Array.Empty<int>(), Array.Empty<double>(), 0, new double[size],
                new double[size], Array.Empty<double>(), 0, 0)
            {
                BoxSize = forward.BoxSize, Precision = precision,
            };
        }

        var results = new List<EStepResult>();
        for (int group = 0; group < forward.GroupCount; group++)
        {
            if (groupPatches[group].Length == 0)
            {
                continue;
            }

            var result = precision == EStepPrecision.Single
                ? RunKernel<float>(forward, rotations.Count, filtered[group], patches, groupPatches[group], noiseVariance,
                    shiftPrior, rotationPrior, options, token)
                : RunKernel<double>(forward, rotations.Count, filtered[group], patches, groupPatches[group], noiseVariance,
                    shiftPrior, rotationPrior, options, token);
            result.FilterGroup = group;
            result.Filtered = !forward.Filters[group].IsIdentity;
            results.Add(result);
        }

        return results.Count == 1 ? results[0] : EStepResult.Merge(minibatch, results);
    }

    /// <summary>The minibatch split by filter group (the group of each patch's micrograph), each part ascending.</summary>
    internal static int[][] GroupMinibatch(ForwardModel forward, PatchSet patches, int[] minibatch)
    {
        if (forward.GroupCount == 1)
        {
            return new[] { minibatch };
        }

        var parts = new List<int>[forward.GroupCount];
        for (int group = 0; group < parts.Length; group++)
        {
            parts[group] = new List<int>();
        }

        foreach (int q in minibatch)
        {
            parts[forward.GroupOf(patches.Origins[q].Micrograph)].Add(q);
        }

        return parts.Select(part => part.ToArray()).ToArray();
    }

    /// <summary>
    /// <see cref="EStepPrecision.Auto"/>: single precision when <see cref="SingleErrorBound"/> for these patches and the
    /// filtered projections of every group is at most <see cref="AutoSingleBound"/>.
    /// </summary>
    private static EStepPrecision AutoPrecision(ForwardModel forward, double[][] filtered, int rotationCount, PatchSet patches,
        int[] minibatch, double noiseVariance, EStepOptions options)
    {
        int pixels = forward.BoxSize * forward.BoxSize;
        double maxPatch = 0, maxProjection = 0;
        foreach (int q in minibatch)
        {
            double energy = 0;
            foreach (var a in patches.Patch(q))
            {
                energy += a * a;
            }

            maxPatch = Math.Max(maxPatch, energy);
        }

        foreach (var images in filtered)
        {
            for (int r = 0; r < rotationCount && images.Length > 0; r++)
            {
                double energy = 0;
                foreach (var a in images.AsSpan(r * pixels, pixels))
                {
                    energy += a * a;
                }

                maxProjection = Math.Max(maxProjection, energy);
            }
        }

        if (options.World is { Size: > 1 } world)
        {
            // One rank's share of a split E-step: the decision is the whole E-step's, from the largest energies of all ranks
            // (each rank puts its two maxima in its own slots; the sum then holds everyone's).
            var maxima = new double[2 * world.Size];
            maxima[2 * world.Rank] = maxPatch;
            maxima[2 * world.Rank + 1] = maxProjection;
            world.SumInPlace(maxima);
            for (int r = 0; r < world.Size; r++)
            {
                maxPatch = Math.Max(maxPatch, maxima[2 * r]);
                maxProjection = Math.Max(maxProjection, maxima[2 * r + 1]);
            }
        }

        int fftSize = forward.FftSize(options.FftSize);
        return SingleErrorBound(Math.Sqrt(maxPatch), Math.Sqrt(maxProjection), noiseVariance, fftSize) <= AutoSingleBound
            ? EStepPrecision.Single
            : EStepPrecision.Double;
    }

    /// <summary>The E-step's SIMD registers in this process: their width in bits and how many rotations (lanes) each holds
    /// in single and in double precision.</summary>
    public static EStepRegisters Registers => LaneWidth.Prefer512
        ? new(512, LaneWidth.Lanes<float>(true), LaneWidth.Lanes<double>(true))
        : new(Vector<byte>.Count * 8, LaneWidth.Lanes<float>(false), LaneWidth.Lanes<double>(false));

    /// <summary>True when this E-step runs on 512-bit registers (<see cref="Vector512Lanes{T}"/>), else on Vector&lt;T&gt;.</summary>
    internal static bool Wide(EStepOptions options) => options.LaneBits switch
    {
        0 => LaneWidth.Prefer512,
        512 => true,
        _ => false,
    };

    private static EStepResult RunKernel<T>(ForwardModel forward, int rotationCount, double[] images, PatchSet patches, int[] minibatch,
        double noiseVariance, ShiftPrior shiftPrior, RotationPrior rotationPrior, EStepOptions options, CancellationToken token)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Wide(options))
        {
            using var wide = new EStepKernel<T, Vector512Lanes<T>>(forward, rotationCount, images, patches, minibatch, noiseVariance,
                shiftPrior, rotationPrior, options, token);
            return wide.Run();
        }

        using var kernel = new EStepKernel<T, VectorLanes<T>>(forward, rotationCount, images, patches, minibatch, noiseVariance,
            shiftPrior, rotationPrior, options, token);
        return kernel.Run();
    }

    /// <summary>
    /// An upper estimate of the error single precision makes in a lag log-likelihood for these patches and this
    /// volume: 2⁻²⁴ · 4(1 + log₂M²) · max‖I_q‖ · max‖p_ω‖ / σ² (the FFT's rounding bound for the cross term; the
    /// energies are exact in double and the rest rounds once). Pairs of log-weights closer than this may swap order;
    /// a posterior weight changes by at most a factor e^{±bound}.
    /// </summary>
    public static double SingleErrorBound(double maxPatchNorm, double maxProjectionNorm, double noiseVariance, int fftSize)
        => Math.Pow(2, -24) * 4 * (1 + Math.Log2((double)fftSize * fftSize)) * maxPatchNorm * maxProjectionNorm / noiseVariance;

    /// <summary>
    /// For tests and diagnostics on small problems: the log-likelihood log N(I_q; A_{s,ω}x, σ²I) of every minibatch
    /// patch, rotation and non-empty lag, [patch, rotation, d_y+L−1, d_x+L−1], computed by the same FFT kernels (double).
    /// </summary>
    public static double[] LogLikelihoodTable(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x,
        PatchSet patches, int[] minibatch, double noiseVariance, int fftSize = 0)
    {
        var options = new EStepOptions { Threads = 1, FftSize = fftSize, Precision = EStepPrecision.Double };
        var forward = new ForwardModel(model.ImageSize);
        var images = ForwardModel.Project(model, rotations, x, 1, default);
        using var kernel = new EStepKernel<double, VectorLanes<double>>(forward, rotations.Count, images, patches, minibatch, noiseVariance,
            new ShiftPrior(forward, 0.5), new RotationPrior(rotations.Count), options, default);
        return kernel.LogLikelihoodTable();
    }
}
