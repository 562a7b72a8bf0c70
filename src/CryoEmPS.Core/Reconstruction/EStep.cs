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
/// terms for every shift are one linear cross-correlation of I with p (one inverse FFT of size M ≥ 2L−1 per
/// pair), and ‖A_{s,ω}x‖² is the energy of p inside the L×L box that lands in the patch (direct box sums, once
/// per rotation). Posteriors are normalised per patch with log-sum-exp.
/// <para>
/// Rotations are processed W at a time, one per SIMD lane (W = 4 doubles or 8 floats in a 256-bit register, 8 or 16 with
/// AVX-512: <see cref="ILanes{TSelf, T}"/>), so
/// every transform and element-wise step is plain vertical SIMD arithmetic (<see cref="LaneFft2D{T, TV}"/>); a lane does
/// exactly the scalar arithmetic of its rotation, so nothing depends on W.
/// Two passes: (A) per patch, over all rotations, the lag log-likelihoods, their exponentials (kept) and the
/// log-normaliser; (B) per rotation group, over the minibatch in patch order, the weights and the statistics b_ω, m_ω,
/// W[s,ω]. Each output is summed in one fixed order, so results are identical for any thread count.
/// </para>
/// </summary>
public static class EStep
{
    /// <summary>exp(x) is exactly 0 in double for x below this, which makes skipping such terms exact.</summary>
    internal const double UnderflowLog = -746.0;

    /// <summary><see cref="EStepPrecision.Auto"/> takes single precision when <see cref="SingleErrorBound"/> is at most this.</summary>
    public const double AutoSingleBound = 0.01;

    public static EStepResult Run(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x,
        PatchSet patches, int[] minibatch, double noiseVariance, double emptyProbability, EStepOptions? options = null, CancellationToken token = default)
    {
        options ??= new EStepOptions();
        using var blas = OpenBlasThreads.Single();
        Validate(model, rotations, x, patches, minibatch, noiseVariance);
        var images = Project(model, rotations, x, options.Threads, token);
        var precision = options.Precision;
        if (precision == EStepPrecision.Auto)
        {
            int l2 = model.ImageSize * model.ImageSize;
            double maxPatch = 0, maxProj = 0;
            foreach (int q in minibatch) { double s = 0; foreach (var a in patches.Patch(q)) s += a * a; maxPatch = Math.Max(maxPatch, s); }
            for (int r = 0; r < rotations.Count; r++) { double s = 0; foreach (var a in images.AsSpan(r * l2, l2)) s += a * a; maxProj = Math.Max(maxProj, s); }
            int m = options.FftSize > 0 ? options.FftSize : ShiftPrior.FastFftSize(model.ImageSize);
            precision = SingleErrorBound(Math.Sqrt(maxPatch), Math.Sqrt(maxProj), noiseVariance, m) <= AutoSingleBound ? EStepPrecision.Single : EStepPrecision.Double;
        }
        return precision == EStepPrecision.Single
            ? RunKernel<float>(model, rotations, images, patches, minibatch, noiseVariance, emptyProbability, options, token)
            : RunKernel<double>(model, rotations, images, patches, minibatch, noiseVariance, emptyProbability, options, token);
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

    private static EStepResult RunKernel<T>(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, double[] images,
        PatchSet patches, int[] minibatch, double noiseVariance, double emptyProbability, EStepOptions options, CancellationToken token)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Wide(options))
        {
            using var wide = new EStepKernel<T, Vector512Lanes<T>>(model, rotations, images, patches, minibatch, noiseVariance, emptyProbability, options, token);
            return wide.Run();
        }
        using var ctx = new EStepKernel<T, VectorLanes<T>>(model, rotations, images, patches, minibatch, noiseVariance, emptyProbability, options, token);
        return ctx.Run();
    }

    private static void Validate(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x, PatchSet patches, int[] minibatch, double noiseVariance)
    {
        if (model.ImageSize != patches.PatchSize) throw new ArgumentException($"The patches are {patches.PatchSize}×{patches.PatchSize} but the model projects {model.ImageSize}×{model.ImageSize} images.");
        if (x.Length != model.ParameterCount) throw new ArgumentException($"x has {x.Length} entries; the model has {model.ParameterCount} parameters.");
        if (!(noiseVariance > 0) || double.IsInfinity(noiseVariance)) throw new ArgumentOutOfRangeException(nameof(noiseVariance), "σ² must be positive and finite.");
        if (rotations.Count == 0) throw new ArgumentException("No rotations.");
        if (minibatch.Length == 0) throw new ArgumentException("The minibatch is empty.");
    }

    /// <summary>The projections B(ω)x, [rotation, y, x]: one batched product when the model offers it, else B(ω) row by row.</summary>
    private static double[] Project(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x, int threads, CancellationToken token)
    {
        int l2 = model.ImageSize * model.ImageSize, n = model.ParameterCount, k = rotations.Count;
        var images = new double[(long)k * l2];
        if (model is IBatchProjectionModel batch) { batch.Project(x, rotations, images); return images; }
        var xa = x.ToArray();
        ApproxEmParallel.For(k, threads, () => new double[l2 * n], (bm, r) =>
        {
            model.ProjectionMatrix(rotations[r], bm);
            var img = images.AsSpan(r * l2, l2);
            for (int i = 0; i < l2; i++) { double s = 0; for (int c = 0; c < n; c++) s += bm[i * n + c] * xa[c]; img[i] = s; }
        }, _ => { }, token);
        return images;
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
        var opt = new EStepOptions { Threads = 1, FftSize = fftSize, Precision = EStepPrecision.Double };
        Validate(model, rotations, x, patches, minibatch, noiseVariance);
        using var ctx = new EStepKernel<double, VectorLanes<double>>(model, rotations, Project(model, rotations, x, 1, default), patches, minibatch, noiseVariance, 0.5, opt, default);
        return ctx.LogLikelihoodTable();
    }
}
