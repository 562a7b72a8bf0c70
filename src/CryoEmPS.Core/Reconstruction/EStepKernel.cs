using System.Numerics;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>The E-step's work on rotation lanes of type T (double: exact path; float: <see cref="EStepPrecision.Single"/>).</summary>
internal sealed unsafe class EStepKernel<T, TV> : IDisposable
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TV : unmanaged, ILanes<TV, T>
{
    private readonly double[] _images;                // the (filtered) projections of one filter group, [rotation, y, x]
    private readonly PatchSet _patches;
    private readonly int[] _minibatch;                // patch indices of this filter group, ascending
    private readonly ShiftPrior _shiftPrior;
    private readonly RotationPrior _rotationPrior;
    private readonly EStepOptions _options;
    private readonly CancellationToken _token;
    private readonly LaneFft2D<T, TV> _fft;
    /// <summary>
    /// L: patch side; B: side of the (filtered) projection box (L without a filter); M: FFT side; H = M/2+1; CL = M·H;
    /// NLag = B + L − 1 lags per axis (2L−1 without a filter); K rotations in G groups of W lanes.
    /// </summary>
    private readonly int L, B, M, H, CL, NLag, NLag2, K, W, G;
    private readonly double _logNorm, _inv2s2, _invM2;
    private readonly T _kappa, _beta;                 // ll′ = κ·corr − β·E (κ = 2/(M²·2σ²), β = 1/(2σ²))
    private T[] _patchRe = Array.Empty<T>(), _patchIm = Array.Empty<T>(); // patch spectra, [patch, k]
    private double[] _patchNorm2 = Array.Empty<double>();
    private TV* _rotRe, _rotIm;                // projection spectra (placed at offset L−1), [group, k]
    private TV* _energy;                       // box energies, [group, lag]
    private TV* _lagPrior;                     // log ρ_d − log ρ_uniform per lag (null: a uniform shift prior)
    private long _progressDone, _progressTotal;

    /// <summary>
    /// The kernel for the patches <paramref name="minibatch"/> of one filter group of <paramref name="forward"/>, whose
    /// projections through that group's filter are <paramref name="images"/>. Its inputs are valid (the driver checked them).
    /// </summary>
    public EStepKernel(ForwardModel forward, int rotationCount, double[] images, PatchSet patches, int[] minibatch,
        double noiseVariance, ShiftPrior shiftPrior, RotationPrior rotationPrior, EStepOptions options, CancellationToken token)
    {
        _images = images;
        _patches = patches;
        _minibatch = minibatch;
        _shiftPrior = shiftPrior;
        _rotationPrior = rotationPrior;
        _options = options;
        _token = token;
        L = forward.ImageSize;
        K = rotationCount;
        B = forward.BoxSize;
        M = forward.FftSize(options.FftSize);
        H = M / 2 + 1;
        CL = M * H;
        NLag = forward.LagsPerAxis;
        NLag2 = NLag * NLag;
        W = TV.Count;
        G = (K + W - 1) / W;
        _fft = new LaneFft2D<T, TV>(M);
        _logNorm = new WhiteGaussianNoise(noiseVariance).LogNormalizer(L);
        _inv2s2 = 1.0 / (2 * noiseVariance);
        _invM2 = 1.0 / ((double)M * M);
        _kappa = T.CreateTruncating(2 * _invM2 * _inv2s2);
        _beta = T.CreateTruncating(_inv2s2);
        if (shiftPrior.LagLogWeights is { } lagWeights)
        {
            _lagPrior = LaneFft2D<T, TV>.Alloc(NLag2);
            for (int i = 0; i < NLag2; i++)
            {
                _lagPrior[i] = TV.Create(T.CreateTruncating(lagWeights[i]));
            }
        }
    }

    public void Dispose()
    {
        Free(ref _rotRe);
        Free(ref _rotIm);
        Free(ref _energy);
        Free(ref _lagPrior);
    }

    private static void Free(ref TV* p)
    {
        if (p != null)
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(p);
        }

        p = null;
    }

    /// <summary>Per-thread buffers: no allocation per (patch, rotation).</summary>
    private sealed class Workspace : IDisposable
    {
        public TV* Real, Re, Im, Lags, WeightMap;
        public LaneFft2D<T, TV>.Scratch Scratch;
        public double[] Box, Energy;
        public T[] Lane;

        public Workspace(EStepKernel<T, TV> kernel)
        {
            Real = LaneFft2D<T, TV>.Alloc(kernel.M * kernel.M);
            Re = LaneFft2D<T, TV>.Alloc(kernel.CL);
            Im = LaneFft2D<T, TV>.Alloc(kernel.CL);
            Lags = LaneFft2D<T, TV>.Alloc(kernel.NLag2);
            WeightMap = LaneFft2D<T, TV>.Alloc(kernel.M * kernel.M);
            Scratch = new LaneFft2D<T, TV>.Scratch(kernel._fft);
            Box = new double[kernel.B * kernel.NLag];
            Energy = new double[kernel.W * kernel.NLag2];
            Lane = new T[kernel.W];
        }

        public void Dispose()
        {
            Free(ref Real);
            Free(ref Re);
            Free(ref Im);
            Free(ref Lags);
            Free(ref WeightMap);
            Scratch.Dispose();
        }
    }

    private Workspace NewWorkspace() => new(this);

    private void Tick(long n)
    {
        if (_options.Progress == null)
        {
            return;
        }

        long done = Interlocked.Add(ref _progressDone, n);
        _options.Progress(Math.Min(1.0, (double)done / Math.Max(1, _progressTotal)));
    }

    /// <summary>FFTs of the zero-padded patches and of every rotation group's projections, and the box energies.</summary>
    private void Prepare()
    {
        PreparePatches();
        PrepareProjections();
    }

    /// <summary>The spectra of the zero-padded minibatch patches (W at a time through the lane FFT) and their energies ‖I‖².</summary>
    private void PreparePatches()
    {
        int count = _minibatch.Length, patchGroups = (count + W - 1) / W;
        _patchRe = new T[(long)count * CL];
        _patchIm = new T[(long)count * CL];
        _patchNorm2 = new double[count];
        // Patches W at a time through the lane FFT, then spread to one scalar spectrum per patch.
        ParallelLoop.For(patchGroups, _options.Threads, NewWorkspace, (ws, g) =>
        {
            new Span<TV>(ws.Real, M * M).Clear();
            var lane = ws.Lane;
            for (int l = 0; l < W && g * W + l < count; l++)
            {
                double norm2 = 0;
                foreach (var a in _patches.Patch(_minibatch[g * W + l]))
                {
                    norm2 += a * a;
                }

                _patchNorm2[g * W + l] = norm2;
            }

            for (int y = 0; y < L; y++)
            {
                for (int xx = 0; xx < L; xx++)
                {
                    for (int l = 0; l < W; l++)
                    {
                        lane[l] = g * W + l < count ? T.CreateTruncating(_patches.Patch(_minibatch[g * W + l])[y * L + xx]) : T.Zero;
                    }

                    ws.Real[y * M + xx] = TV.Create(lane);
                }
            }

            _fft.Forward(ws.Real, ws.Re, ws.Im, ws.Scratch, L);
            for (int l = 0; l < W && g * W + l < count; l++)
            {
                long offset = (long)(g * W + l) * CL;
                for (int k = 0; k < CL; k++)
                {
                    _patchRe[offset + k] = ws.Re[k][l];
                    _patchIm[offset + k] = ws.Im[k][l];
                }
            }
        }, ws => ws.Dispose(), _token);
    }

    /// <summary>
    /// The spectra of every rotation group's (filtered) projections, placed at offset (L−1, L−1) in the M×M box, and their box
    /// energies E[d] at every lag.
    /// </summary>
    private void PrepareProjections()
    {
        var images = _images;
        int b2 = B * B;
        _rotRe = LaneFft2D<T, TV>.Alloc((long)G * CL);
        _rotIm = LaneFft2D<T, TV>.Alloc((long)G * CL);
        _energy = LaneFft2D<T, TV>.Alloc((long)G * NLag2);
        ParallelLoop.For(G, _options.Threads, NewWorkspace, (ws, g) =>
        {
            // The B×B projection goes in at offset (L−1, L−1): the correlation at lag d then lands at index d + L − 1,
            // so the NLag² lags come out of the inverse FFT as the first NLag entries of the first NLag rows.
            new Span<TV>(ws.Real, M * M).Clear();
            var lane = ws.Lane;
            for (int y = 0; y < B; y++)
            {
                for (int xx = 0; xx < B; xx++)
                {
                    for (int l = 0; l < W; l++)
                    {
                        lane[l] = g * W + l < K ? T.CreateTruncating(images[(long)(g * W + l) * b2 + y * B + xx]) : T.Zero;
                    }

                    ws.Real[(y + L - 1) * M + xx + L - 1] = TV.Create(lane);
                }
            }

            _fft.Forward(ws.Real, _rotRe + (long)g * CL, _rotIm + (long)g * CL, ws.Scratch, NLag);
            var energies = ws.Energy;
            Array.Clear(energies);
            for (int l = 0; l < W && g * W + l < K; l++)
            {
                BoxEnergies(images.AsSpan((int)((long)(g * W + l) * b2), b2), ws.Box, energies.AsSpan(l * NLag2, NLag2));
            }

            TV* e = _energy + (long)g * NLag2;
            for (int i = 0; i < NLag2; i++)
            {
                for (int l = 0; l < W; l++)
                {
                    lane[l] = T.CreateTruncating(energies[l * NLag2 + i]);
                }

                e[i] = TV.Create(lane);
            }
        }, ws => ws.Dispose(), _token);
    }

    /// <summary>
    /// E[d_y, d_x] = Σ of p² over the pixels of the B×B projection box that land in the patch at that lag
    /// (R(d) = [max(0,d), min(B, L+d)) per axis, d ∈ {−(L−1)..B−1}).
    /// </summary>
    private void BoxEnergies(ReadOnlySpan<double> p, double[] q, Span<double> e)
    {
        // q[u, dx] = Σ_{v ∈ R(dx)} p[u, v]²
        for (int u = 0; u < B; u++)
        {
            for (int dx = -(L - 1); dx < B; dx++)
            {
                int v0 = Math.Max(0, dx), v1 = Math.Min(B, L + dx);
                double s = 0;
                for (int v = v0; v < v1; v++)
                {
                    double a = p[u * B + v];
                    s += a * a;
                }

                q[u * NLag + dx + L - 1] = s;
            }
        }

        for (int dy = -(L - 1); dy < B; dy++)
        {
            int u0 = Math.Max(0, dy), u1 = Math.Min(B, L + dy);
            for (int dx = 0; dx < NLag; dx++)
            {
                double s = 0;
                for (int u = u0; u < u1; u++)
                {
                    s += q[u * NLag + dx];
                }

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
        fixed (T* pr = &_patchRe[(long)j * CL])
        fixed (T* pi = &_patchIm[(long)j * CL])
        {
            for (int k = 0; k < CL; k++)
            {
                // conj(a)·b = (a_r·b_r + a_i·b_i) + i(a_r·b_i − a_i·b_r)
                var ar = TV.Create(pr[k]);
                var ai = TV.Create(pi[k]);
                re[k] = ar * rr[k] + ai * ri[k];
                im[k] = ar * ri[k] - ai * rr[k];
            }
        }

        _fft.Backward(re, im, ws.Real, NLag, ws.Scratch);
        var kappa = TV.Create(_kappa);
        var beta = TV.Create(_beta);
        var max = TV.Create(T.NegativeInfinity);
        TV* e = _energy + (long)g * NLag2;
        for (int iy = 0; iy < NLag; iy++)
        {
            TV* c = ws.Real + iy * M;
            TV* d = dest + iy * NLag;
            TV* er = e + iy * NLag;
            if (_lagPrior == null)
            {
                for (int ix = 0; ix < NLag; ix++)
                {
                    var v = kappa * c[ix] - beta * er[ix];
                    d[ix] = v;
                    max = TV.MaxFinite(max, v);
                }
            }
            else
            {
                // A non-uniform shift prior: ll′[d] + (log ρ_d − log ρ_uniform), so the posterior weights carry it.
                TV* prior = _lagPrior + iy * NLag;
                for (int ix = 0; ix < NLag; ix++)
                {
                    var v = kappa * c[ix] - beta * er[ix] + prior[ix];
                    d[ix] = v;
                    max = TV.MaxFinite(max, v);
                }
            }
        }

        return max;
    }

    /// <summary>src[i] → exp(src[i] − shift) into dst (may be src), returning the per-lane sum (summed in lag order).</summary>
    private TV ExpShiftedSum(TV* src, TV shift, TV* dst)
    {
        var sum = TV.Zero;
        for (int i = 0; i < NLag2; i++)
        {
            var e = VectorMath.Exp<TV, T>(src[i] - shift);
            dst[i] = e;
            sum += e;
        }

        return sum;
    }

    /// <summary>
    /// log N(I_q; A_{d,ω}x, σ²I) for every minibatch patch, rotation and lag, [patch, rotation, lag] (see
    /// <see cref="EStep.LogLikelihoodTable"/>).
    /// </summary>
    public double[] LogLikelihoodTable()
    {
        Prepare();
        int count = _minibatch.Length;
        var table = new double[(long)count * K * NLag2];
        using var ws = NewWorkspace();
        for (int j = 0; j < count; j++)
        {
            double patchConstant = _logNorm - _patchNorm2[j] * _inv2s2;
            for (int g = 0; g < G; g++)
            {
                LagLogLikelihoods(ws, j, g, ws.Lags);
                for (int l = 0; l < W && g * W + l < K; l++)
                {
                    long offset = ((long)j * K + g * W + l) * NLag2;
                    for (int i = 0; i < NLag2; i++)
                    {
                        table[offset + i] = double.CreateTruncating(ws.Lags[i][l]) + patchConstant;
                    }
                }
            }
        }

        return table;
    }

    /// <summary>
    /// What the passes share while one E-step runs: the kept exponentials, per-(patch, rotation) log-sums, per-patch results and the
    /// accumulators.
    /// </summary>
    private sealed class RunState
    {
        public bool Statistics;
        public int Threads, SubBlock, Block;
        public double LogEmpty, LogCut;
        /// <summary>log(ρ_lag·π_ω) per rotation (log ρ_lag − log K for the paper's priors).</summary>
        public double[] LogLag = Array.Empty<double>();
        /// <summary>The kept exponentials e = exp(ll′ − max_lags ll′), [patch in block, group, lag].</summary>
        public TV* Slab;
        /// <summary>max over lags of ll′ (the shift of e) and log Σ_lags ρ·π·N, per (patch in block, rotation).</summary>
        public double[] ShiftMax = Array.Empty<double>(), LogSum = Array.Empty<double>();
        /// <summary>Per minibatch patch: log-likelihood, empty posterior, and ll − ll′ = log-normaliser − ‖I‖²/(2σ²).</summary>
        public double[] PatchLogLikelihood = Array.Empty<double>(), EmptyPosterior = Array.Empty<double>(),
            PatchConstant = Array.Empty<double>();
        /// <summary>Fourier-space accumulators of b_ω ([group, k]) and the weight sums W[s,ω] ([group, lag]).</summary>
        public TV* AccumulatorRe, AccumulatorIm, WeightSums;
        public long[] Skipped = Array.Empty<long>();
        public double[] PhaseSeconds = new double[4];
        public System.Collections.Concurrent.ConcurrentBag<Workspace> Pool = new();
    }

    public EStepResult Run()
    {
        int count = _minibatch.Length;
        var state = new RunState { Statistics = !_options.LikelihoodOnly, Threads = Math.Max(1, _options.Threads) };
        _progressTotal = (long)count * K * (state.Statistics ? 2 : 1) + K + count;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        Prepare();
        state.PhaseSeconds[0] += stopwatch.Elapsed.TotalSeconds;
        Tick(K + count);
        try
        {
            Allocate(state);
            // Patches go in blocks: the likelihood pass (parallel over sub-blocks of patches, rotation groups inner) does
            // the one correlation FFT per (patch, group), the lag log-likelihoods, their exponentials and the per-rotation
            // log-sums, and keeps the exponentials; the statistics pass (parallel over rotation groups, patches in ascending
            // order) scales them by each patch's normaliser into the posterior weights and accumulates the statistics.
            // Every sum runs in patch order per rotation, so results do not depend on threads or block size.
            for (int blockStart = 0; blockStart < count; blockStart += state.Block)
            {
                int blockCount = Math.Min(state.Block, count - blockStart);
                stopwatch.Restart();
                LikelihoodPass(state, blockStart, blockCount);
                state.PhaseSeconds[1] += stopwatch.Elapsed.TotalSeconds;
                stopwatch.Restart();
                if (state.Statistics)
                {
                    StatisticsPass(state, blockStart, blockCount);
                }

                state.PhaseSeconds[2] += stopwatch.Elapsed.TotalSeconds;
            }

            stopwatch.Restart();
            var result = Finish(state);
            state.PhaseSeconds[3] += stopwatch.Elapsed.TotalSeconds;
            return result;
        }
        finally
        {
            while (state.Pool.TryTake(out var workspace))
            {
                workspace.Dispose();
            }

            Free(ref state.Slab);
            Free(ref state.AccumulatorRe);
            Free(ref state.AccumulatorIm);
            Free(ref state.WeightSums);
        }
    }

    private Workspace Rent(RunState state) => state.Pool.TryTake(out var workspace) ? workspace : NewWorkspace();

    /// <summary>The block sizes, the priors' log-weights and the buffers of one run.</summary>
    private void Allocate(RunState state)
    {
        int count = _minibatch.Length;
        state.LogLag = new double[K];
        double lagLogWeight = _shiftPrior.UniformLagLogWeight;
        for (int r = 0; r < K; r++)
        {
            state.LogLag[r] = lagLogWeight + _rotationPrior.LogWeight(r);   // log(ρ_lag·π_ω)
        }

        state.LogEmpty = _shiftPrior.EmptyLogWeight;                         // Σ_ω π_ω·v = v: the empty shift for every ω
        state.LogCut = _options.PosteriorCutoff > 0 ? Math.Max(EStep.UnderflowLog, Math.Log(_options.PosteriorCutoff)) : EStep.UnderflowLog;
        // The kept exponentials: block·G·NLag² vectors, at most about 256 MB. A likelihood-pass task takes SubBlock patches
        // (up to 8: each rotation group's spectra and energies, read from memory, then serve 8 patches), and a block
        // holds one sub-block per thread so the tasks balance.
        long slabBudget = 256L << 20;
        long perPatch = (long)G * NLag2 * sizeof(TV);
        state.SubBlock = (int)Math.Clamp(slabBudget / (perPatch * state.Threads), 1, 8);
        state.Block = Math.Min(state.SubBlock * state.Threads, count);
        state.Slab = state.Statistics ? LaneFft2D<T, TV>.Alloc((long)state.Block * G * NLag2) : null;
        state.ShiftMax = new double[(long)state.Block * K];
        state.LogSum = new double[(long)state.Block * K];
        state.PatchLogLikelihood = new double[count];
        state.EmptyPosterior = new double[count];
        state.PatchConstant = new double[count];
        for (int j = 0; j < count; j++)
        {
            state.PatchConstant[j] = _logNorm - _patchNorm2[j] * _inv2s2;
        }

        if (state.Statistics)
        {
            state.AccumulatorRe = LaneFft2D<T, TV>.Alloc((long)G * CL);
            state.AccumulatorIm = LaneFft2D<T, TV>.Alloc((long)G * CL);
            state.WeightSums = LaneFft2D<T, TV>.Alloc((long)G * NLag2);
        }

        state.Skipped = new long[G];
    }

    /// <summary>
    /// The likelihood pass over patches [<paramref name="blockStart"/>, +<paramref name="blockCount"/>): per (patch, rotation
    /// group) one correlation FFT, the lag log-likelihoods, their exponentials (kept for the statistics pass) and the
    /// per-rotation log-sum; then per patch (rotations in order) its log-likelihood and its empty posterior (eq. 31).
    /// </summary>
    private void LikelihoodPass(RunState state, int blockStart, int blockCount)
    {
        int subBlocks = (blockCount + state.SubBlock - 1) / state.SubBlock;
        ParallelLoop.For(subBlocks, state.Threads, () => Rent(state), (ws, subBlock) =>
        {
            int first = subBlock * state.SubBlock, last = Math.Min(blockCount, first + state.SubBlock);
            for (int g = 0; g < G; g++)
            {
                if ((g & 7) == 0)
                {
                    _token.ThrowIfCancellationRequested();
                }

                for (int inBlock = first; inBlock < last; inBlock++)
                {
                    int j = blockStart + inBlock;
                    var max = LagLogLikelihoods(ws, j, g, ws.Lags);
                    var sum = ExpShiftedSum(ws.Lags, max, state.Statistics ? state.Slab + ((long)inBlock * G + g) * NLag2 : ws.Lags);
                    for (int l = 0; l < W && g * W + l < K; l++)
                    {
                        long at = (long)inBlock * K + g * W + l;
                        double m = double.CreateTruncating(max[l]);
                        state.ShiftMax[at] = m;
                        state.LogSum[at] = state.PatchConstant[j] + m + Math.Log(double.CreateTruncating(sum[l])) + state.LogLag[g * W + l];
                    }
                }
            }

            for (int inBlock = first; inBlock < last; inBlock++)
            {
                int j = blockStart + inBlock;
                double logEmpty = state.LogEmpty + state.PatchConstant[j];
                double max = logEmpty;
                for (int r = 0; r < K; r++)
                {
                    double logSum = state.LogSum[(long)inBlock * K + r];
                    if (logSum > max)
                    {
                        max = logSum;
                    }
                }

                double total = Math.Exp(logEmpty - max);
                for (int r = 0; r < K; r++)
                {
                    total += Math.Exp(state.LogSum[(long)inBlock * K + r] - max);
                }

                double logLikelihood = max + Math.Log(total);
                state.PatchLogLikelihood[j] = logLikelihood;
                state.EmptyPosterior[j] = Math.Exp(logEmpty - logLikelihood);
            }

            Tick((long)(last - first) * K);
        }, ws => state.Pool.Add(ws), _token);
    }

    /// <summary>
    /// The statistics pass over the same block: per rotation group, patches in ascending order, the posterior weights
    /// w_{q,s,ω} (the kept exponentials scaled by the patch's normaliser), their sums W[s,ω], and one r2c FFT per kept pair
    /// whose product with the patch spectrum accumulates b_ω in Fourier space.
    /// </summary>
    private void StatisticsPass(RunState state, int blockStart, int blockCount)
    {
        ParallelLoop.For(G, state.Threads, () => Rent(state), (ws, g) =>
        {
            TV* weightSum = state.WeightSums + (long)g * NLag2, accRe = state.AccumulatorRe + (long)g * CL,
                accIm = state.AccumulatorIm + (long)g * CL;
            TV* weightMap = ws.WeightMap;
            Span<T> scale = stackalloc T[W];
            long skipped = 0;
            for (int inBlock = 0; inBlock < blockCount; inBlock++)
            {
                int j = blockStart + inBlock;
                bool any = false;
                for (int l = 0; l < W; l++)
                {
                    scale[l] = T.Zero;
                    if (g * W + l >= K)
                    {
                        continue;
                    }

                    long at = (long)inBlock * K + g * W + l;
                    if (state.LogSum[at] - state.PatchLogLikelihood[j] < state.LogCut)
                    {
                        skipped++;
                        continue;
                    }

                    // A weight that underflows to 0 in T is dropped exactly as a skipped pair would be.
                    scale[l] = T.CreateTruncating(Math.Exp(
                        state.PatchConstant[j] + state.ShiftMax[at] + state.LogLag[g * W + l] - state.PatchLogLikelihood[j]));
                    any |= scale[l] != T.Zero;
                }

                if (!any)
                {
                    continue;
                }

                var c = TV.Create(scale);
                // The weight of lag d goes to index d + L − 1 of the map (rows of NLag at stride M; the rest stays 0), so
                // the convolution below comes out shifted by L − 1 and is cropped there.
                TV* exponentials = state.Slab + ((long)inBlock * G + g) * NLag2;
                for (int iy = 0; iy < NLag; iy++)
                {
                    TV* src = exponentials + iy * NLag, dst = weightMap + iy * M, acc = weightSum + iy * NLag;
                    for (int ix = 0; ix < NLag; ix++)
                    {
                        var w = c * src[ix];
                        dst[ix] = w;
                        acc[ix] += w;
                    }
                }

                _fft.Forward(weightMap, ws.Re, ws.Im, ws.Scratch, NLag);
                fixed (T* pr = &_patchRe[(long)j * CL])
                fixed (T* pi = &_patchIm[(long)j * CL])
                {
                    TV* wr = ws.Re, wi = ws.Im;
                    for (int k = 0; k < CL; k++)
                    {
                        var br = TV.Create(pr[k]);
                        var bi = TV.Create(pi[k]);
                        accRe[k] += wr[k] * br - wi[k] * bi;
                        accIm[k] += wr[k] * bi + wi[k] * br;
                    }
                }
            }

            state.Skipped[g] += skipped;
            if ((g & 15) == 15)
            {
                Tick(16L * W * blockCount);
            }
        }, ws => state.Pool.Add(ws), _token);
    }

    /// <summary>
    /// The finish: b_ω by one inverse FFT per rotation group (the circular convolution of the weight maps with the
    /// zero-padded patches, cropped to the B×B box), m_ω from W[s,ω], and the result.
    /// </summary>
    private EStepResult Finish(RunState state)
    {
        int count = _minibatch.Length, b2 = B * B;
        bool statistics = state.Statistics;
        var back = statistics ? new double[(long)K * b2] : Array.Empty<double>();
        var pixelWeights = statistics ? new double[(long)K * b2] : Array.Empty<double>();
        var weightSums = statistics ? new double[(long)K * NLag2] : Array.Empty<double>();
        if (statistics)
        {
            ParallelLoop.For(G, state.Threads, () => Rent(state), (ws, g) =>
            {
                _fft.Backward(state.AccumulatorRe + (long)g * CL, state.AccumulatorIm + (long)g * CL, ws.Real, M, ws.Scratch);
                TV* weightSum = state.WeightSums + (long)g * NLag2;
                for (int l = 0; l < W && g * W + l < K; l++)
                {
                    int r = g * W + l;
                    var b = back.AsSpan(r * b2, b2);
                    for (int y = 0; y < B; y++)
                    {
                        for (int xx = 0; xx < B; xx++)
                        {
                            b[y * B + xx] = double.CreateTruncating(ws.Real[(y + L - 1) * M + xx + L - 1][l]) * _invM2;
                        }
                    }

                    var sums = weightSums.AsSpan(r * NLag2, NLag2);
                    for (int i = 0; i < NLag2; i++)
                    {
                        sums[i] = double.CreateTruncating(weightSum[i][l]);
                    }

                    PixelWeights(sums, ws.Box, pixelWeights.AsSpan(r * b2, b2));
                }
            }, ws => state.Pool.Add(ws), _token);
        }

        double emptySum = 0;
        foreach (var e in state.EmptyPosterior)
        {
            emptySum += e;
        }

        long skippedTotal = 0;
        foreach (var s in state.Skipped)
        {
            skippedTotal += s;
        }

        return new EStepResult(L, K, (int[])_minibatch.Clone(), state.PatchLogLikelihood, emptySum / count, back, pixelWeights, weightSums,
            (long)count * K, skippedTotal)
        {
            BoxSize = B,
            PatchEmptyPosterior = state.EmptyPosterior,
            PhaseSeconds = state.PhaseSeconds,
            Precision = typeof(T) == typeof(float) ? EStepPrecision.Single : EStepPrecision.Double,
        };
    }

    /// <summary>
    /// m[u, v] = Σ_{d_y = u−L+1..u} Σ_{d_x = v−L+1..v} W[d_y, d_x] for (u, v) in the B×B box: the lags at which box pixel (u, v) lands in
    /// the patch.
    /// </summary>
    private void PixelWeights(ReadOnlySpan<double> w, double[] t, Span<double> m)
    {
        // t[dy, v] = Σ_{dx = v−L+1..v} W[dy, dx]   (stored [dy+L−1, v])
        for (int dy = 0; dy < NLag; dy++)
        {
            for (int v = 0; v < B; v++)
            {
                double s = 0;
                for (int dx = v - L + 1; dx <= v; dx++)
                {
                    s += w[dy * NLag + dx + L - 1];
                }

                t[dy * B + v] = s;
            }
        }

        for (int u = 0; u < B; u++)
        {
            for (int v = 0; v < B; v++)
            {
                double s = 0;
                for (int dy = u - L + 1; dy <= u; dy++)
                {
                    s += t[(dy + L - 1) * B + v];
                }

                m[u * B + v] = s;
            }
        }
    }
}
