using System.Numerics;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>The E-step's work on rotation lanes of type T (double: exact path; float: <see cref="EStepPrecision.Single"/>).</summary>
internal sealed unsafe class EStepKernel<T, TV> : IDisposable where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged, ILanes<TV, T>
{
    private readonly double[] _images;                // the projections B(ω)x, [rotation, y, x]
    private readonly PatchSet _patches;
    private readonly int[] _mb;
    private readonly double _v;
    private readonly EStepOptions _opt;
    private readonly CancellationToken _token;
    private readonly LaneFft2D<T, TV> _fft;
    /// <summary>L: patch side; M: FFT side; H = M/2+1; CL = M·H; NLag = 2L−1; K rotations in G groups of W lanes.</summary>
    private readonly int L, M, H, CL, NLag, NLag2, K, W, G;
    private readonly double _logNorm, _inv2s2, _invM2;
    private readonly T _kappa, _beta;                 // ll′ = κ·corr − β·E (κ = 2/(M²·2σ²), β = 1/(2σ²))
    private T[] _patchRe = Array.Empty<T>(), _patchIm = Array.Empty<T>(); // patch spectra, [patch, k]
    private double[] _patchNorm2 = Array.Empty<double>();
    private TV* _rotRe, _rotIm;                // projection spectra (placed at offset L−1), [group, k]
    private TV* _energy;                       // box energies, [group, lag]
    private long _progressDone, _progressTotal;

    public EStepKernel(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, double[] images, PatchSet patches,
        int[] minibatch, double noiseVariance, double v, EStepOptions opt, CancellationToken token)
    {
        _images = images; _patches = patches; _mb = minibatch; _v = v; _opt = opt; _token = token;
        L = model.ImageSize; K = rotations.Count;
        M = opt.FftSize > 0 ? opt.FftSize : ShiftPrior.FastFftSize(L);
        if (M < 2 * L - 1) throw new ArgumentOutOfRangeException(nameof(opt), $"The FFT size {M} is below 2L−1 = {2 * L - 1}.");
        H = M / 2 + 1; CL = M * H; NLag = 2 * L - 1; NLag2 = NLag * NLag;
        W = TV.Count; G = (K + W - 1) / W;
        _fft = new LaneFft2D<T, TV>(M);
        _logNorm = -0.5 * L * L * Math.Log(2 * Math.PI * noiseVariance);
        _inv2s2 = 1.0 / (2 * noiseVariance);
        _invM2 = 1.0 / ((double)M * M);
        _kappa = T.CreateTruncating(2 * _invM2 * _inv2s2);
        _beta = T.CreateTruncating(_inv2s2);
    }

    public void Dispose()
    {
        Free(ref _rotRe); Free(ref _rotIm); Free(ref _energy);
    }

    private static void Free(ref TV* p)
    {
        if (p != null) System.Runtime.InteropServices.NativeMemory.AlignedFree(p);
        p = null;
    }

    /// <summary>Per-thread buffers: no allocation per (patch, rotation).</summary>
    private sealed class Workspace : IDisposable
    {
        public TV* Real, Re, Im, Lags, WeightMap;
        public LaneFft2D<T, TV>.Scratch Scratch;
        public double[] Box = Array.Empty<double>(), Energy = Array.Empty<double>();
        public T[] Lane = Array.Empty<T>();
        public Workspace(EStepKernel<T, TV> k)
        {
            Real = LaneFft2D<T, TV>.Alloc(k.M * k.M); Re = LaneFft2D<T, TV>.Alloc(k.CL); Im = LaneFft2D<T, TV>.Alloc(k.CL);
            Lags = LaneFft2D<T, TV>.Alloc(k.NLag2); WeightMap = LaneFft2D<T, TV>.Alloc(k.M * k.M);
            Scratch = new LaneFft2D<T, TV>.Scratch(k._fft);
            Box = new double[k.L * k.NLag]; Energy = new double[k.W * k.NLag2]; Lane = new T[k.W];
        }
        public void Dispose()
        {
            Free(ref Real); Free(ref Re); Free(ref Im); Free(ref Lags); Free(ref WeightMap);
            Scratch.Dispose();
        }
    }

    private Workspace NewWorkspace() => new(this);

    private void Tick(long n)
    {
        if (_opt.Progress == null) return;
        long done = Interlocked.Add(ref _progressDone, n);
        _opt.Progress(Math.Min(1.0, (double)done / Math.Max(1, _progressTotal)));
    }

    /// <summary>FFTs of the zero-padded patches and of every rotation group's projections, and the box energies.</summary>
    private void Prepare()
    {
        int l2 = L * L, mb = _mb.Length, pg = (mb + W - 1) / W;
        _patchRe = new T[(long)mb * CL]; _patchIm = new T[(long)mb * CL]; _patchNorm2 = new double[mb];
        // Patches W at a time through the lane FFT, then spread to one scalar spectrum per patch.
        ApproxEmParallel.For(pg, _opt.Threads, NewWorkspace, (ws, g) =>
        {
            new Span<TV>(ws.Real, M * M).Clear();
            var lane = ws.Lane;
            for (int l = 0; l < W && g * W + l < mb; l++)
            {
                var patch = _patches.Patch(_mb[g * W + l]);
                double n2 = 0; foreach (var a in patch) n2 += a * a;
                _patchNorm2[g * W + l] = n2;
            }
            for (int y = 0; y < L; y++)
                for (int xx = 0; xx < L; xx++)
                {
                    for (int l = 0; l < W; l++) lane[l] = g * W + l < mb ? T.CreateTruncating(_patches.Patch(_mb[g * W + l])[y * L + xx]) : T.Zero;
                    ws.Real[y * M + xx] = TV.Create(lane);
                }
            _fft.Forward(ws.Real, ws.Re, ws.Im, ws.Scratch, L);
            for (int l = 0; l < W && g * W + l < mb; l++)
            {
                long o = (long)(g * W + l) * CL;
                for (int k = 0; k < CL; k++) { _patchRe[o + k] = ws.Re[k][l]; _patchIm[o + k] = ws.Im[k][l]; }
            }
        }, ws => ws.Dispose(), _token);

        var images = _images;
        _rotRe = LaneFft2D<T, TV>.Alloc((long)G * CL); _rotIm = LaneFft2D<T, TV>.Alloc((long)G * CL);
        _energy = LaneFft2D<T, TV>.Alloc((long)G * NLag2);
        ApproxEmParallel.For(G, _opt.Threads, NewWorkspace, (ws, g) =>
        {
            // The projection goes in at offset (L−1, L−1): the correlation at lag d then lands at index d + L − 1,
            // so the (2L−1)² lags come out of the inverse FFT as the first 2L−1 entries of the first 2L−1 rows.
            new Span<TV>(ws.Real, M * M).Clear();
            var lane = ws.Lane;
            for (int y = 0; y < L; y++)
                for (int xx = 0; xx < L; xx++)
                {
                    for (int l = 0; l < W; l++) lane[l] = g * W + l < K ? T.CreateTruncating(images[(long)(g * W + l) * l2 + y * L + xx]) : T.Zero;
                    ws.Real[(y + L - 1) * M + xx + L - 1] = TV.Create(lane);
                }
            _fft.Forward(ws.Real, _rotRe + (long)g * CL, _rotIm + (long)g * CL, ws.Scratch, NLag);
            var en = ws.Energy;
            Array.Clear(en);
            for (int l = 0; l < W && g * W + l < K; l++)
                BoxEnergies(images.AsSpan((int)((long)(g * W + l) * l2), l2), ws.Box, en.AsSpan(l * NLag2, NLag2));
            TV* e = _energy + (long)g * NLag2;
            for (int i = 0; i < NLag2; i++)
            {
                for (int l = 0; l < W; l++) lane[l] = T.CreateTruncating(en[l * NLag2 + i]);
                e[i] = TV.Create(lane);
            }
        }, ws => ws.Dispose(), _token);
    }

    /// <summary>E[d_y, d_x] = Σ of p² over the projection pixels that land in the patch at that lag (R(d) = [max(0,d), min(L, L+d))).</summary>
    private void BoxEnergies(ReadOnlySpan<double> p, double[] q, Span<double> e)
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

    /// <summary>
    /// The shifted log-likelihoods ll′[d] = κ·corr[d] − β·E[d] of minibatch patch j against the W rotations of group g at
    /// every lag, [d_y+L−1, d_x+L−1], from one inverse FFT of conj(Î_j)·P̂_g (ll = ll′ + log-normaliser − ‖I‖²/(2σ²)).
    /// Returns the per-lane maximum over the lags.
    /// </summary>
    private TV LagLogLikelihoods(Workspace ws, int j, int g, TV* dest)
    {
        TV* rr = _rotRe + (long)g * CL, ri = _rotIm + (long)g * CL, re = ws.Re, im = ws.Im;
        fixed (T* pr = &_patchRe[(long)j * CL]) fixed (T* pi = &_patchIm[(long)j * CL])
        {
            for (int k = 0; k < CL; k++)
            {
                // conj(a)·b = (a_r·b_r + a_i·b_i) + i(a_r·b_i − a_i·b_r)
                var ar = TV.Create(pr[k]); var ai = TV.Create(pi[k]);
                re[k] = ar * rr[k] + ai * ri[k];
                im[k] = ar * ri[k] - ai * rr[k];
            }
        }
        _fft.Backward(re, im, ws.Real, NLag, ws.Scratch);
        var kappa = TV.Create(_kappa); var beta = TV.Create(_beta);
        var max = TV.Create(T.NegativeInfinity);
        TV* e = _energy + (long)g * NLag2;
        for (int iy = 0; iy < NLag; iy++)
        {
            TV* c = ws.Real + iy * M; TV* d = dest + iy * NLag; TV* er = e + iy * NLag;
            for (int ix = 0; ix < NLag; ix++)
            {
                var v = kappa * c[ix] - beta * er[ix];
                d[ix] = v;
                max = TV.MaxFinite(max, v);
            }
        }
        return max;
    }

    /// <summary>src[i] → exp(src[i] − shift) into dst (may be src), returning the per-lane sum (summed in lag order).</summary>
    private TV ExpShiftedSum(TV* src, TV shift, TV* dst)
    {
        var sum = TV.Zero;
        for (int i = 0; i < NLag2; i++) { var e = VectorMath.Exp<TV, T>(src[i] - shift); dst[i] = e; sum += e; }
        return sum;
    }

    public double[] LogLikelihoodTable()
    {
        Prepare();
        int mb = _mb.Length;
        var table = new double[(long)mb * K * NLag2];
        using var ws = NewWorkspace();
        for (int j = 0; j < mb; j++)
        {
            double patchConst = _logNorm - _patchNorm2[j] * _inv2s2;
            for (int g = 0; g < G; g++)
            {
                LagLogLikelihoods(ws, j, g, ws.Lags);
                for (int l = 0; l < W && g * W + l < K; l++)
                {
                    long o = ((long)j * K + g * W + l) * NLag2;
                    for (int i = 0; i < NLag2; i++) table[o + i] = double.CreateTruncating(ws.Lags[i][l]) + patchConst;
                }
            }
        }
        return table;
    }

    public EStepResult Run()
    {
        int mb = _mb.Length, l2 = L * L;
        bool stats = !_opt.LikelihoodOnly;
        _progressTotal = (long)mb * K * (stats ? 2 : 1) + K + mb;
        var swT = System.Diagnostics.Stopwatch.StartNew();
        var profile = new double[4];
        Prepare();
        profile[0] += swT.Elapsed.TotalSeconds;
        Tick(K + mb);
        double logK = Math.Log(K);
        double logLag = Math.Log(ShiftPrior.LagProbability(L, _v)) - logK; // log(ρ_lag / K)
        double logEmpty = Math.Log(_v);                                  // K·(v/K): the empty shift for every ω
        double logCut = _opt.PosteriorCutoff > 0 ? Math.Max(EStep.UnderflowLog, Math.Log(_opt.PosteriorCutoff)) : EStep.UnderflowLog;

        // Patches go in blocks: phase A (parallel over sub-blocks of patches, rotation groups inner) does the one
        // correlation FFT per (patch, group), the lag log-likelihoods, their exponentials e = exp(ll′ − max_lags ll′)
        // and the per-rotation log-sum; it keeps e for phase B. Phase B (parallel over rotation groups, patches in
        // ascending order) scales e by the patch's normaliser into the posterior weights and accumulates the
        // statistics. Every sum runs in patch order per rotation, so results do not depend on threads or block size.
        int threads = Math.Max(1, _opt.Threads);
        // The kept exponentials: block·G·(2L−1)² vectors, at most about 256 MB. A phase-A task takes SubBlock patches
        // (up to 8: each rotation group's spectra and energies, read from memory, then serve 8 patches), and a block
        // holds one sub-block per thread so the tasks balance.
        long slabBudget = 256L << 20;
        long perPatch = (long)G * NLag2 * sizeof(TV);
        int SubBlock = (int)Math.Clamp(slabBudget / (perPatch * threads), 1, 8);
        int block = Math.Min(SubBlock * threads, mb);
        TV* slab = stats ? LaneFft2D<T, TV>.Alloc((long)block * G * NLag2) : null;
        var shiftMax = new double[(long)block * K];   // max over lags of ll′ (the shift of e), per (patch in block, rotation)
        var lse = new double[(long)block * K];        // log Σ_lags (ρ/K)·N, per (patch in block, rotation)
        var patchLl = new double[mb];
        var emptyPost = new double[mb];
        var patchConst = new double[mb];              // ll − ll′ = log-normaliser − ‖I‖²/(2σ²)
        for (int j = 0; j < mb; j++) patchConst[j] = _logNorm - _patchNorm2[j] * _inv2s2;
        TV* accRe = stats ? LaneFft2D<T, TV>.Alloc((long)G * CL) : null, accIm = stats ? LaneFft2D<T, TV>.Alloc((long)G * CL) : null;
        TV* wsumAll = stats ? LaneFft2D<T, TV>.Alloc((long)G * NLag2) : null;
        var skipped = new long[G];
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
                    for (int g = 0; g < G; g++)
                    {
                        if ((g & 7) == 0) _token.ThrowIfCancellationRequested();
                        for (int qb = q0; qb < q1; qb++)
                        {
                            int j = b0 + qb;
                            var max = LagLogLikelihoods(ws, j, g, ws.Lags);
                            var sum = ExpShiftedSum(ws.Lags, max, stats ? slab + ((long)qb * G + g) * NLag2 : ws.Lags);
                            for (int l = 0; l < W && g * W + l < K; l++)
                            {
                                long at = (long)qb * K + g * W + l;
                                double m = double.CreateTruncating(max[l]);
                                shiftMax[at] = m;
                                lse[at] = patchConst[j] + m + Math.Log(double.CreateTruncating(sum[l])) + logLag;
                            }
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

                profile[1] += swT.Elapsed.TotalSeconds; swT.Restart();
                // Phase B
                if (stats) ApproxEmParallel.For(G, threads, Rent, (ws, g) =>
                {
                    TV* wsum = wsumAll + (long)g * NLag2, ar = accRe + (long)g * CL, ai = accIm + (long)g * CL;
                    TV* wm = ws.WeightMap;
                    Span<T> scale = stackalloc T[W];
                    long skip = 0;
                    for (int qb = 0; qb < bn; qb++)
                    {
                        int j = b0 + qb;
                        bool any = false;
                        for (int l = 0; l < W; l++)
                        {
                            scale[l] = T.Zero;
                            if (g * W + l >= K) continue;
                            long at = (long)qb * K + g * W + l;
                            if (lse[at] - patchLl[j] < logCut) { skip++; continue; }
                            // A weight that underflows to 0 in T is dropped exactly as a skipped pair would be.
                            scale[l] = T.CreateTruncating(Math.Exp(patchConst[j] + shiftMax[at] + logLag - patchLl[j]));
                            any |= scale[l] != T.Zero;
                        }
                        if (!any) continue;
                        var c = TV.Create(scale);
                        // The weight of lag d goes to index d + L − 1 of the map (rows of 2L−1 at stride M; the rest
                        // stays 0), so the convolution below comes out shifted by L − 1 and is cropped there.
                        TV* ev = slab + ((long)qb * G + g) * NLag2;
                        for (int iy = 0; iy < NLag; iy++)
                        {
                            TV* src = ev + iy * NLag, dst = wm + iy * M, acc = wsum + iy * NLag;
                            for (int ix = 0; ix < NLag; ix++) { var w = c * src[ix]; dst[ix] = w; acc[ix] += w; }
                        }
                        _fft.Forward(wm, ws.Re, ws.Im, ws.Scratch, NLag);
                        fixed (T* pr = &_patchRe[(long)j * CL]) fixed (T* pi = &_patchIm[(long)j * CL])
                        {
                            TV* wr = ws.Re, wi = ws.Im;
                            for (int k = 0; k < CL; k++)
                            {
                                var br = TV.Create(pr[k]); var bi = TV.Create(pi[k]);
                                ar[k] += wr[k] * br - wi[k] * bi;
                                ai[k] += wr[k] * bi + wi[k] * br;
                            }
                        }
                    }
                    skipped[g] += skip;
                    if ((g & 15) == 15) Tick(16L * W * bn);
                }, ws => pool.Add(ws), _token);
                profile[2] += swT.Elapsed.TotalSeconds;
            }
            swT.Restart();
            // b_ω: circular convolution of the weight maps with the zero-padded patches, cropped to L×L; m_ω from W.
            var back = stats ? new double[(long)K * l2] : Array.Empty<double>();
            var pix = stats ? new double[(long)K * l2] : Array.Empty<double>();
            var wsumOut = stats ? new double[(long)K * NLag2] : Array.Empty<double>();
            if (stats) ApproxEmParallel.For(G, threads, Rent, (ws, g) =>
            {
                _fft.Backward(accRe + (long)g * CL, accIm + (long)g * CL, ws.Real, M, ws.Scratch);
                TV* wsum = wsumAll + (long)g * NLag2;
                for (int l = 0; l < W && g * W + l < K; l++)
                {
                    int r = g * W + l;
                    var b = back.AsSpan(r * l2, l2);
                    for (int y = 0; y < L; y++) for (int xx = 0; xx < L; xx++) b[y * L + xx] = double.CreateTruncating(ws.Real[(y + L - 1) * M + xx + L - 1][l]) * _invM2;
                    var wr = wsumOut.AsSpan(r * NLag2, NLag2);
                    for (int i = 0; i < NLag2; i++) wr[i] = double.CreateTruncating(wsum[i][l]);
                    PixelWeights(wr, ws.Box, pix.AsSpan(r * l2, l2));
                }
            }, ws => pool.Add(ws), _token);

            profile[3] += swT.Elapsed.TotalSeconds;
            double emptySum = 0; foreach (var e in emptyPost) emptySum += e;
            long skippedTotal = 0; foreach (var s in skipped) skippedTotal += s;
            return new EStepResult(L, K, (int[])_mb.Clone(), patchLl, emptySum / mb, back, pix, wsumOut, (long)mb * K, skippedTotal)
            {
                PhaseSeconds = profile,
                Precision = typeof(T) == typeof(float) ? EStepPrecision.Single : EStepPrecision.Double,
            };
        }
        finally
        {
            while (pool.TryTake(out var w)) w.Dispose();
            Free(ref slab); Free(ref accRe); Free(ref accIm); Free(ref wsumAll);
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
