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
        public double[] Lags = Array.Empty<double>(); public double[] Scratch = Array.Empty<double>();
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
            Lags = new double[NLag2], Scratch = new double[L * NLag], Projection = new double[L * L],
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

            ApproxEmParallel.For(K, _opt.Threads, () => { var w = NewWorkspace(); w.Matrix = new double[l2 * N]; return w; }, (ws, r) =>
            {
                _model.ProjectionMatrix(_rot[r], ws.Matrix);
                var p = ws.Projection;
                fixed (double* pb = ws.Matrix) fixed (double* px = _x) fixed (double* pp = p)
                    Blas.Gemv(false, l2, N, 1.0, pb, px, 0.0, pp);
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
            _progressTotal = (long)mb * K * 2 + K + mb;
            Prepare();
            Tick(K + mb);
            double logK = Math.Log(K);
            double logLag = Math.Log(ShiftPrior.LagProbability(L, _v)) - logK; // log(ρ_lag / K)
            double logEmpty = Math.Log(_v);                                  // K·(v/K): the empty shift for every ω
            var lse = new double[(long)mb * K];

            // Pass 1: per patch, the log of Σ_lags (ρ/K)·N for every rotation.
            ApproxEmParallel.For(mb, _opt.Threads, NewWorkspace, (ws, j) =>
            {
                var lags = ws.Lags;
                for (int r = 0; r < K; r++)
                {
                    if ((r & 63) == 0) _token.ThrowIfCancellationRequested();
                    LogLikelihoods(ws, j, r, lags);
                    double max = double.NegativeInfinity;
                    for (int i = 0; i < NLag2; i++) if (lags[i] > max) max = lags[i];
                    double s = 0;
                    for (int i = 0; i < NLag2; i++) s += Math.Exp(lags[i] - max);
                    lse[(long)j * K + r] = max + Math.Log(s) + logLag;
                }
                Tick(K);
            }, ws => ws.Dispose(), _token);

            // Per patch (in rotation order): the log-likelihood and the empty posterior.
            var patchLl = new double[mb];
            double emptySum = 0;
            for (int j = 0; j < mb; j++)
            {
                double lEmpty = logEmpty + _logNorm - _patchNorm2[j] * _inv2s2;
                double max = lEmpty;
                for (int r = 0; r < K; r++) { double a = lse[(long)j * K + r]; if (a > max) max = a; }
                double s = Math.Exp(lEmpty - max);
                for (int r = 0; r < K; r++) s += Math.Exp(lse[(long)j * K + r] - max);
                double total = max + Math.Log(s);
                patchLl[j] = total;
                emptySum += Math.Exp(lEmpty - total);
            }

            // Pass 2: per rotation, over the minibatch in order: weights and sufficient statistics.
            var back = new double[(long)K * l2];
            var pix = new double[(long)K * l2];
            var shiftW = new double[(long)K * NLag2];
            double logCut = _opt.PosteriorCutoff > 0 ? Math.Max(UnderflowLog, Math.Log(_opt.PosteriorCutoff)) : UnderflowLog;
            var skipped = new long[K];
            ApproxEmParallel.For(K, _opt.Threads, NewWorkspace, (ws, r) =>
            {
                var lags = ws.Lags;
                var wsum = shiftW.AsSpan(r * NLag2, NLag2);
                new Span<Complex>(ws.Accumulator, CL).Clear();
                new Span<double>(ws.WeightMap, M * M).Clear();
                long skip = 0;
                for (int j = 0; j < mb; j++)
                {
                    if ((j & 63) == 0) _token.ThrowIfCancellationRequested();
                    double baseLog = logLag - patchLl[j];
                    if (lse[(long)j * K + r] - patchLl[j] < logCut) { skip++; continue; }
                    LogLikelihoods(ws, j, r, lags);
                    double* wm = ws.WeightMap;
                    for (int dy = -(L - 1); dy < L; dy++)
                    {
                        int row = (dy < 0 ? dy + M : dy) * M, o = (dy + L - 1) * NLag;
                        for (int dx = -(L - 1); dx < L; dx++)
                        {
                            int i = o + dx + L - 1;
                            double w = Math.Exp(lags[i] + baseLog);
                            wm[row + (dx < 0 ? dx + M : dx)] = w;
                            wsum[i] += w;
                        }
                    }
                    _fft.Forward(ws.WeightMap, ws.WeightSpectrum);
                    fixed (Complex* pf = &_patchF[j * CL])
                    {
                        Complex* acc = ws.Accumulator, wf = ws.WeightSpectrum;
                        for (int i = 0; i < CL; i++) acc[i] += wf[i] * pf[i];
                    }
                }
                skipped[r] = skip;
                // b_ω: circular convolution of the weight map with the zero-padded patch, cropped to L×L.
                _fft.Backward(ws.Accumulator, ws.Real);
                var b = back.AsSpan(r * l2, l2);
                for (int y = 0; y < L; y++) for (int xx = 0; xx < L; xx++) b[y * L + xx] = ws.Real[y * M + xx] * _invM2;
                PixelWeights(wsum, ws.Scratch, pix.AsSpan(r * l2, l2));
                Tick(mb);
            }, ws => ws.Dispose(), _token);

            long skippedTotal = 0; foreach (var s in skipped) skippedTotal += s;
            return new EStepResult(L, K, (int[])_mb.Clone(), patchLl, emptySum / mb, back, pix, shiftW, (long)mb * K, skippedTotal);
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
