using System.Numerics;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>What one E-step produced: the minibatch log-likelihood, the new v (eq. 31), and the sufficient
/// statistics the M-step needs (never per-patch A matrices).</summary>
public sealed class EStepResult
{
    internal EStepResult(int l, int k, int[] patches, double[] patchLogLikelihood, double emptyPosterior, double[] backProjection, double[] pixelWeight, double[] shiftWeight, long pairs, long skipped)
    {
        ImageSize = l; RotationCount = k; Patches = patches; PatchLogLikelihood = patchLogLikelihood;
        EmptyPosterior = emptyPosterior; BackProjection = backProjection; PixelWeight = pixelWeight; ShiftWeight = shiftWeight;
        PairCount = pairs; SkippedPairs = skipped;
        double s = 0; foreach (var v in patchLogLikelihood) s += v;
        LogLikelihood = s;
    }

    public int ImageSize { get; }
    public int RotationCount { get; }
    /// <summary>The minibatch (patch indices into the PatchSet), ascending.</summary>
    public int[] Patches { get; }
    /// <summary>log p(I_q; x, ρ) = log Σ_{s,ω} (ρ[s]/K)·N(I_q; A_{s,ω}x, σ²I), full Gaussian normalisation, per minibatch patch.</summary>
    public double[] PatchLogLikelihood { get; }
    /// <summary>Σ_q of <see cref="PatchLogLikelihood"/> (summed in patch order).</summary>
    public double LogLikelihood { get; }
    public double LogLikelihoodPerPatch => LogLikelihood / Patches.Length;
    /// <summary>Eq. (31) with posteriors: the mean over the minibatch of the posterior probability that the patch is empty.</summary>
    public double EmptyPosterior { get; }
    /// <summary>b_ω = Σ_q Σ_s w_{q,s,ω}·(C T_s Z)ᵀ I_q, [rotation, y, x] (K·L·L).</summary>
    public double[] BackProjection { get; }
    /// <summary>m_ω = Σ_s W[s,ω]·mask_s, the weight each projection pixel carries, [rotation, y, x] (K·L·L).</summary>
    public double[] PixelWeight { get; }
    /// <summary>W[s,ω] = Σ_q w_{q,s,ω} over the (2L−1)² non-empty lags, [rotation, d_y+L−1, d_x+L−1].</summary>
    public double[] ShiftWeight { get; }
    /// <summary>(patch, rotation) pairs in the minibatch, and how many the M-step pass skipped (exactly zero posterior, or below the opt-in cutoff).</summary>
    public long PairCount { get; }
    public long SkippedPairs { get; }
    /// <summary>Diagnostics: wall seconds of the phases — projections and FFTs of the inputs, likelihoods (one correlation FFT per pair), statistics (one back-projection FFT per kept pair), finishing.</summary>
    public double[] PhaseSeconds { get; internal init; } = new double[4];
}

/// <summary>Options of one E-step.</summary>
public sealed class EStepOptions
{
    /// <summary>Worker threads (default: all processors). Results do not depend on it.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>FFT side for the correlations (0 = <see cref="ShiftPrior.FastFftSize"/>); any value ≥ 2L−1 gives the same result.</summary>
    public int FftSize { get; init; }
    /// <summary>
    /// Opt-in approximation: a (patch, rotation) pair whose total posterior mass is below this is left out of the
    /// sufficient statistics. 0 (default) is exact: only pairs whose every weight underflows to exactly 0 are skipped.
    /// </summary>
    public double PosteriorCutoff { get; init; }
    /// <summary>
    /// Only the log-likelihoods and the empty posterior: the statistics (<see cref="EStepResult.BackProjection"/>,
    /// <see cref="EStepResult.PixelWeight"/>, <see cref="EStepResult.ShiftWeight"/>) come back empty, which saves the
    /// back-projection FFT of every pair. For the last E-step of a stage, whose statistics no M-step uses.
    /// </summary>
    public bool LikelihoodOnly { get; init; }
    /// <summary>Optional progress callback: fraction of the E-step done, 0..1 (called from worker threads).</summary>
    public Action<double>? Progress { get; init; }
}

/// <summary>
/// The E-step of the approximate EM (eqs. 23–25, 31) done with FFTs.
/// For a patch I and a projection p = B(ω)x, ‖I − A_{s,ω}x‖² = ‖I‖² − 2⟨I, A_{s,ω}x⟩ + ‖A_{s,ω}x‖²: the cross
/// terms for every shift are one linear cross-correlation of I with p (one inverse FFT of size M ≥ 2L−1 per
/// pair), and ‖A_{s,ω}x‖² is the energy of p inside the L×L box that lands in the patch (direct box sums, once
/// per rotation). Posteriors are normalised per patch with log-sum-exp.
/// Two passes: (1) per patch, over all rotations, the log-normaliser; (2) per rotation, over the minibatch in patch
/// order, the weights and the statistics b_ω, m_ω, W[s,ω]. Pass (2) recomputes the correlation rather than storing
/// K·(2L)² values per patch; each output is summed in one fixed order, so results are identical for any thread count.
/// </summary>
public static unsafe class EStep
{
    /// <summary>exp(x) is exactly 0 in double for x below this, which makes skipping such terms exact.</summary>
    internal const double UnderflowLog = -746.0;

    public static EStepResult Run(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x,
        PatchSet patches, int[] minibatch, double noiseVariance, double emptyProbability, EStepOptions? options = null, CancellationToken token = default)
    {
        options ??= new EStepOptions();
        using var blas = OpenBlasThreads.Single();
        using var ctx = new Context(model, rotations, x, patches, minibatch, noiseVariance, emptyProbability, options, token);
        return ctx.Run();
    }

    /// <summary>
    /// For tests and diagnostics on small problems: the log-likelihood log N(I_q; A_{s,ω}x, σ²I) of every minibatch
    /// patch, rotation and non-empty lag, [patch, rotation, d_y+L−1, d_x+L−1], computed by the same FFT kernels.
    /// </summary>
    public static double[] LogLikelihoodTable(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x,
        PatchSet patches, int[] minibatch, double noiseVariance, int fftSize = 0)
    {
        var opt = new EStepOptions { Threads = 1, FftSize = fftSize };
        using var ctx = new Context(model, rotations, x, patches, minibatch, noiseVariance, 0.5, opt, default);
        ctx.Prepare();
        int nl = ctx.NLag2, k = rotations.Count;
        var table = new double[minibatch.Length * k * nl];
        var ws = ctx.NewWorkspace();
        try
        {
            for (int j = 0; j < minibatch.Length; j++)
                for (int w = 0; w < k; w++)
                    ctx.LogLikelihoods(ws, j, w, table.AsSpan((j * k + w) * nl, nl));
        }
        finally { ws.Dispose(); }
        return table;
    }

    /// <summary>Per-thread aligned buffers: no allocation per (patch, rotation).</summary>
    internal sealed class Workspace : IDisposable
    {
        public double* Real; public Complex* Spectrum; public double* WeightMap; public Complex* WeightSpectrum; public Complex* Accumulator;
        public double[] Lags = Array.Empty<double>(); public double[] Scratch = Array.Empty<double>(); public double[] Scratch2 = Array.Empty<double>();
        public double[] Projection = Array.Empty<double>(); public double[] Matrix = Array.Empty<double>();
        public void Dispose()
        {
            foreach (var p in new IntPtr[] { (IntPtr)Real, (IntPtr)Spectrum, (IntPtr)WeightMap, (IntPtr)WeightSpectrum, (IntPtr)Accumulator })
                if (p != IntPtr.Zero) Fftw.Free(p);
            Real = null; Spectrum = null; WeightMap = null; WeightSpectrum = null; Accumulator = null;
        }
    }

    internal sealed class Context : IDisposable
    {
        private readonly ILinearProjectionModel _model;
        private readonly IReadOnlyList<Rotation> _rot;
        private readonly double[] _x;
        private readonly PatchSet _patches;
        private readonly int[] _mb;
        private readonly double _s2, _v;
        private readonly EStepOptions _opt;
        private readonly CancellationToken _token;
        private readonly RealFft2D _fft;
        public readonly int L, M, Half, CL, NLag, NLag2, K, N;
        private Complex[] _patchF = Array.Empty<Complex>();
        private double[] _patchNorm2 = Array.Empty<double>();
        private Complex[] _rotF = Array.Empty<Complex>();
        private double[] _energy = Array.Empty<double>();
        private readonly double _logNorm, _inv2s2, _invM2;
        private long _progressDone; private long _progressTotal;

        public Context(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, ReadOnlySpan<double> x, PatchSet patches,
            int[] minibatch, double noiseVariance, double v, EStepOptions opt, CancellationToken token)
        {
            if (model.ImageSize != patches.PatchSize) throw new ArgumentException($"The patches are {patches.PatchSize}×{patches.PatchSize} but the model projects {model.ImageSize}×{model.ImageSize} images.");
            if (x.Length != model.ParameterCount) throw new ArgumentException($"x has {x.Length} entries; the model has {model.ParameterCount} parameters.");
            if (!(noiseVariance > 0) || double.IsInfinity(noiseVariance)) throw new ArgumentOutOfRangeException(nameof(noiseVariance), "σ² must be positive and finite.");
            if (rotations.Count == 0) throw new ArgumentException("No rotations.");
            if (minibatch.Length == 0) throw new ArgumentException("The minibatch is empty.");
            _model = model; _rot = rotations; _x = x.ToArray(); _patches = patches; _mb = minibatch; _s2 = noiseVariance; _v = v; _opt = opt; _token = token;
            L = model.ImageSize; K = rotations.Count; N = model.ParameterCount;
            M = opt.FftSize > 0 ? opt.FftSize : ShiftPrior.FastFftSize(L);
            if (M < 2 * L - 1) throw new ArgumentOutOfRangeException(nameof(opt), $"The FFT size {M} is below 2L−1 = {2 * L - 1}.");
            Half = M / 2 + 1; CL = M * Half; NLag = 2 * L - 1; NLag2 = NLag * NLag;
            _fft = new RealFft2D(M, M);
            _logNorm = -0.5 * L * L * Math.Log(2 * Math.PI * noiseVariance);
            _inv2s2 = 1.0 / (2 * noiseVariance);
            _invM2 = 1.0 / ((double)M * M);
        }

        public void Dispose() => _fft.Dispose();

        public Workspace NewWorkspace() => new()
        {
            Real = Fftw.Alloc<double>(M * M), Spectrum = Fftw.Alloc<Complex>(CL), WeightMap = Fftw.Alloc<double>(M * M),
            WeightSpectrum = Fftw.Alloc<Complex>(CL), Accumulator = Fftw.Alloc<Complex>(CL),
            Lags = new double[NLag2], Scratch = new double[L * NLag], Scratch2 = new double[NLag2], Projection = new double[L * L],
        };

        private void Tick(long n)
        {
            if (_opt.Progress == null) return;
            long done = Interlocked.Add(ref _progressDone, n);
            _opt.Progress(Math.Min(1.0, (double)done / Math.Max(1, _progressTotal)));
        }

        /// <summary>FFTs of the zero-padded patches and of every rotation's projection, and the box energies.</summary>
        public void Prepare()
        {
            int l2 = L * L, mb = _mb.Length;
            _patchF = new Complex[mb * CL]; _patchNorm2 = new double[mb];
            _rotF = new Complex[K * CL]; _energy = new double[K * NLag2];
            ApproxEmParallel.For(mb, _opt.Threads, NewWorkspace, (ws, j) =>
            {
                var patch = _patches.Patch(_mb[j]);
                new Span<double>(ws.Real, M * M).Clear();
                double n2 = 0;
                for (int y = 0; y < L; y++)
                    for (int xx = 0; xx < L; xx++) { double v = patch[y * L + xx]; ws.Real[y * M + xx] = v; n2 += v * v; }
                _patchNorm2[j] = n2;
                _fft.Forward(ws.Real, ws.Spectrum);
                new ReadOnlySpan<Complex>(ws.Spectrum, CL).CopyTo(_patchF.AsSpan(j * CL, CL));
            }, ws => ws.Dispose(), _token);

            // The projections B(ω)x: one batched product when the model offers it, else B(ω) row by row.
            var images = new double[(long)K * l2];
            if (_model is IBatchProjectionModel batch) batch.Project(_x, _rot, images);
            else
                ApproxEmParallel.For(K, _opt.Threads, () => new double[l2 * N], (bm, r) =>
                {
                    _model.ProjectionMatrix(_rot[r], bm);
                    var img = images.AsSpan(r * l2, l2);
                    for (int i = 0; i < l2; i++) { double s = 0; for (int c = 0; c < N; c++) s += bm[i * N + c] * _x[c]; img[i] = s; }
                }, _ => { }, _token);
            ApproxEmParallel.For(K, _opt.Threads, NewWorkspace, (ws, r) =>
            {
                var p = ws.Projection;
                images.AsSpan(r * l2, l2).CopyTo(p);
                new Span<double>(ws.Real, M * M).Clear();
                for (int y = 0; y < L; y++) for (int xx = 0; xx < L; xx++) ws.Real[y * M + xx] = p[y * L + xx];
                _fft.Forward(ws.Real, ws.Spectrum);
                new ReadOnlySpan<Complex>(ws.Spectrum, CL).CopyTo(_rotF.AsSpan(r * CL, CL));
                BoxEnergies(p, ws.Scratch, _energy.AsSpan(r * NLag2, NLag2));
            }, ws => ws.Dispose(), _token);
        }

        /// <summary>E[d_y, d_x] = Σ of p² over the projection pixels that land in the patch at that lag (R(d) = [max(0,d), min(L, L+d))).</summary>
        private void BoxEnergies(double[] p, double[] q, Span<double> e)
        {
            // q[u, dx] = Σ_{v ∈ R(dx)} p[u, v]²
            for (int u = 0; u < L; u++)
                for (int dx = -(L - 1); dx < L; dx++)
                {
                    int v0 = Math.Max(0, dx), v1 = Math.Min(L, L + dx); double s = 0;
                    for (int v = v0; v < v1; v++) { double a = p[u * L + v]; s += a * a; }
                    q[u * NLag + dx + L - 1] = s;
                }
            for (int dy = -(L - 1); dy < L; dy++)
            {
                int u0 = Math.Max(0, dy), u1 = Math.Min(L, L + dy);
                for (int dx = 0; dx < NLag; dx++)
                {
                    double s = 0;
                    for (int u = u0; u < u1; u++) s += q[u * NLag + dx];
                    e[(dy + L - 1) * NLag + dx] = s;
                }
            }
        }

        /// <summary>log N(I_j; A_{d,ω}x, σ²I) for every lag of minibatch patch j and rotation r, into <paramref name="dest"/> (NLag²).</summary>
        public void LogLikelihoods(Workspace ws, int j, int r, Span<double> dest)
        {
            fixed (Complex* pf = &_patchF[j * CL]) fixed (Complex* rf = &_rotF[r * CL])
            {
                Complex* c = ws.Spectrum;
                for (int i = 0; i < CL; i++) c[i] = Complex.Conjugate(pf[i]) * rf[i];
            }
            _fft.Backward(ws.Spectrum, ws.Real);
            double n2 = _patchNorm2[j];
            var e = _energy.AsSpan(r * NLag2, NLag2);
            double* corr = ws.Real;
            for (int dy = -(L - 1); dy < L; dy++)
            {
                int row = (dy < 0 ? dy + M : dy) * M, o = (dy + L - 1) * NLag;
                for (int dx = -(L - 1); dx < L; dx++)
                {
                    double cross = corr[row + (dx < 0 ? dx + M : dx)] * _invM2;
                    int i = o + dx + L - 1;
                    dest[i] = _logNorm - (n2 - 2 * cross + e[i]) * _inv2s2;
                }
            }
        }

        public EStepResult Run()
        {
            int mb = _mb.Length, l2 = L * L;
            bool stats = !_opt.LikelihoodOnly;
            _progressTotal = (long)mb * K * (stats ? 2 : 1) + K + mb;
            var swT = System.Diagnostics.Stopwatch.StartNew();
            var Profile = new double[4];
            Prepare();
            Profile[0] += swT.Elapsed.TotalSeconds;
            Tick(K + mb);
            double logK = Math.Log(K);
            double logLag = Math.Log(ShiftPrior.LagProbability(L, _v)) - logK; // log(ρ_lag / K)
            double logEmpty = Math.Log(_v);                                  // K·(v/K): the empty shift for every ω
            double logCut = _opt.PosteriorCutoff > 0 ? Math.Max(UnderflowLog, Math.Log(_opt.PosteriorCutoff)) : UnderflowLog;
            double kappa = 2 * _invM2 * _inv2s2;                             // ll′ = κ·corr − E·/(2σ²)

            // Patches go in blocks: phase A (parallel over sub-blocks of patches, rotations inner) does the one
            // correlation FFT per (patch, rotation), the lag log-likelihoods, their exponentials e = exp(ll′ − max_ω ll′)
            // and the per-rotation log-sum; it keeps e for phase B. Phase B (parallel over rotations, patches in
            // ascending order) scales e by the patch's normaliser into the posterior weights and accumulates the
            // statistics. Every sum runs in patch order per rotation, so results do not depend on threads or block size.
            int threads = Math.Max(1, _opt.Threads);
            const int SubBlock = 4;
            // The kept exponentials: block·K·(2L−1)² doubles, about 256 MB (one sub-block per thread at K = 3392, L = 17).
            long slabBudget = 256L << 20;
            int block = (int)Math.Clamp(slabBudget / ((long)K * NLag2 * sizeof(double)), 1, (long)SubBlock * threads * 2);
            block = Math.Max(block, Math.Min(SubBlock * threads, mb));
            block = Math.Min(block, mb);
            var slab = stats ? new double[(long)block * K * NLag2] : Array.Empty<double>();
            var shiftMax = new double[(long)block * K];   // max over lags of ll′ (the shift of e), per (patch in block, rotation)
            var lse = new double[(long)block * K];        // log Σ_lags (ρ/K)·N, per (patch in block, rotation)
            var patchLl = new double[mb];
            var emptyPost = new double[mb];
            var patchConst = new double[mb];              // ll − ll′ = log-normaliser − ‖I‖²/(2σ²)
            var acc = stats ? new Complex[(long)K * CL] : Array.Empty<Complex>();
            var wsumAll = stats ? new double[(long)K * NLag2] : Array.Empty<double>();
            var skipped = new long[K];
            var pool = new System.Collections.Concurrent.ConcurrentBag<Workspace>();
            Workspace Rent() => pool.TryTake(out var w) ? w : NewWorkspace();

            try
            {
                for (int b0 = 0; b0 < mb; b0 += block)
                {
                    int bn = Math.Min(block, mb - b0);
                    int subs = (bn + SubBlock - 1) / SubBlock;
                    // Phase A
                    swT.Restart();
                    ApproxEmParallel.For(subs, threads, Rent, (ws, sb) =>
                    {
                        int q0 = sb * SubBlock, q1 = Math.Min(bn, q0 + SubBlock);
                        var lags = ws.Lags; var corrLag = ws.Scratch2;
                        for (int qb = q0; qb < q1; qb++) patchConst[b0 + qb] = _logNorm - _patchNorm2[b0 + qb] * _inv2s2;
                        for (int r = 0; r < K; r++)
                        {
                            if ((r & 31) == 0) _token.ThrowIfCancellationRequested();
                            var e = _energy.AsSpan(r * NLag2, NLag2);
                            for (int qb = q0; qb < q1; qb++)
                            {
                                int j = b0 + qb;
                                Correlate(ws, j, r, corrLag);
                                double max = VectorMath.AxMinusByMax(kappa, corrLag, _inv2s2, e, lags);
                                long at = (long)qb * K + r;
                                double s = VectorMath.ExpShiftedSum(lags, max, stats ? slab.AsSpan((int)(at * NLag2), NLag2) : lags);
                                shiftMax[at] = max;
                                lse[at] = patchConst[j] + max + Math.Log(s) + logLag;
                            }
                        }
                        // Per patch (rotations in order): the log-likelihood and the empty posterior.
                        for (int qb = q0; qb < q1; qb++)
                        {
                            int j = b0 + qb;
                            double lEmpty = logEmpty + patchConst[j];
                            double max = lEmpty;
                            for (int r = 0; r < K; r++) { double a = lse[(long)qb * K + r]; if (a > max) max = a; }
                            double s = Math.Exp(lEmpty - max);
                            for (int r = 0; r < K; r++) s += Math.Exp(lse[(long)qb * K + r] - max);
                            double total = max + Math.Log(s);
                            patchLl[j] = total;
                            emptyPost[j] = Math.Exp(lEmpty - total);
                        }
                        Tick((long)(q1 - q0) * K);
                    }, ws => pool.Add(ws), _token);

                    Profile[1] += swT.Elapsed.TotalSeconds; swT.Restart();
                    // Phase B
                    if (stats) ApproxEmParallel.For(K, threads, Rent, (ws, r) =>
                    {
                        var wsum = wsumAll.AsSpan(r * NLag2, NLag2);
                        var wl = ws.Lags;
                        double* wm = ws.WeightMap;
                        long skip = 0;
                        fixed (Complex* accR = &acc[(long)r * CL])
                        {
                            for (int qb = 0; qb < bn; qb++)
                            {
                                int j = b0 + qb;
                                long at = (long)qb * K + r;
                                if (lse[at] - patchLl[j] < logCut) { skip++; continue; }
                                double c = Math.Exp(patchConst[j] + shiftMax[at] + logLag - patchLl[j]);
                                ReadOnlySpan<double> ev = slab.AsSpan((int)(at * NLag2), NLag2);
                                VectorMath.Scale(wl, c, ev);
                                VectorMath.AddScaled(wsum, 1.0, wl);
                                for (int dy = -(L - 1); dy < L; dy++)
                                {
                                    int row = (dy < 0 ? dy + M : dy) * M, o = (dy + L - 1) * NLag;
                                    wl.AsSpan(o, L - 1).CopyTo(new Span<double>(wm + row + M - L + 1, L - 1));
                                    wl.AsSpan(o + L - 1, L).CopyTo(new Span<double>(wm + row, L));
                                }
                                _fft.Forward(wm, ws.WeightSpectrum);
                                fixed (Complex* pf = &_patchF[j * CL]) VectorMath.MultiplyAdd(ws.WeightSpectrum, pf, accR, CL);
                            }
                        }
                        skipped[r] += skip;
                        if ((r & 63) == 63) Tick(64L * bn);
                    }, ws => pool.Add(ws), _token);
                    Profile[2] += swT.Elapsed.TotalSeconds;
                }
                swT.Restart();
                // b_ω: circular convolution of the weight maps with the zero-padded patches, cropped to L×L; m_ω from W.
                var back = stats ? new double[(long)K * l2] : Array.Empty<double>();
                var pix = stats ? new double[(long)K * l2] : Array.Empty<double>();
                if (stats) ApproxEmParallel.For(K, threads, Rent, (ws, r) =>
                {
                    new ReadOnlySpan<Complex>(acc, r * CL, CL).CopyTo(new Span<Complex>(ws.Accumulator, CL));
                    _fft.Backward(ws.Accumulator, ws.Real);
                    var b = back.AsSpan(r * l2, l2);
                    for (int y = 0; y < L; y++) for (int xx = 0; xx < L; xx++) b[y * L + xx] = ws.Real[y * M + xx] * _invM2;
                    PixelWeights(wsumAll.AsSpan(r * NLag2, NLag2), ws.Scratch, pix.AsSpan(r * l2, l2));
                }, ws => pool.Add(ws), _token);

                Profile[3] += swT.Elapsed.TotalSeconds;
                double emptySum = 0; foreach (var e in emptyPost) emptySum += e;
                long skippedTotal = 0; foreach (var s in skipped) skippedTotal += s;
                return new EStepResult(L, K, (int[])_mb.Clone(), patchLl, emptySum / mb, back, pix, wsumAll, (long)mb * K, skippedTotal) { PhaseSeconds = Profile };
            }
            finally
            {
                while (pool.TryTake(out var w)) w.Dispose();
            }
        }

        /// <summary>The linear cross-correlation of patch j with projection r at every lag, [d_y+L−1, d_x+L−1], unnormalised (×M²).</summary>
        private void Correlate(Workspace ws, int j, int r, double[] dest)
        {
            fixed (Complex* pf = &_patchF[j * CL]) fixed (Complex* rf = &_rotF[r * CL])
                VectorMath.ConjMultiply(pf, rf, ws.Spectrum, CL);
            _fft.Backward(ws.Spectrum, ws.Real);
            double* corr = ws.Real;
            for (int dy = -(L - 1); dy < L; dy++)
            {
                int row = (dy < 0 ? dy + M : dy) * M, o = (dy + L - 1) * NLag;
                new ReadOnlySpan<double>(corr + row + M - L + 1, L - 1).CopyTo(dest.AsSpan(o, L - 1));
                new ReadOnlySpan<double>(corr + row, L).CopyTo(dest.AsSpan(o + L - 1, L));
            }
        }

        /// <summary>m[u, v] = Σ_{d_y = u−L+1..u} Σ_{d_x = v−L+1..v} W[d_y, d_x]: the lags at which projection pixel (u, v) lands in the patch.</summary>
        private void PixelWeights(ReadOnlySpan<double> w, double[] t, Span<double> m)
        {
            // t[dy, v] = Σ_{dx = v−L+1..v} W[dy, dx]   (stored [dy+L−1, v])
            for (int dy = 0; dy < NLag; dy++)
                for (int v = 0; v < L; v++)
                {
                    double s = 0;
                    for (int dx = v - L + 1; dx <= v; dx++) s += w[dy * NLag + dx + L - 1];
                    t[dy * L + v] = s;
                }
            for (int u = 0; u < L; u++)
                for (int v = 0; v < L; v++)
                {
                    double s = 0;
                    for (int dy = u - L + 1; dy <= u; dy++) s += t[(dy + L - 1) * L + v];
                    m[u * L + v] = s;
                }
        }
    }
}
