using System.Collections.Concurrent;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// The exact projection operator of the Fourier–Bessel model (eqs. 9–16), I_R = G·D(R)·p on the L×L grid
/// of pixel centres (origin floor(L/2)), p the real parameters of <see cref="FourierBesselBasis"/>.
/// <para>
/// Instead of the PSWF expansion of eqs. (13)–(16) the image is computed directly: by the Fourier-slice
/// theorem Î_R(ξ) = f̂_R(ξ_x, ξ_y, 0), so (Jacobi–Anger) I_R(r, θ) = Σ_{ℓ,m′,s} x′_{ℓ,m′,s} Y_ℓ^{m′}(π/2, 0)
/// 2πc² i^{m′} e^{im′θ} ∫₀¹ j_{ℓ,s}(k) J_{m′}(2πckr) k dk, x′ = D(R)x. Only ℓ+m′ even survive
/// (Y_ℓ^{m′}(π/2) = 0 otherwise), so G has Σ S(ℓ)(ℓ+1) columns: in the real parametrisation the column
/// of (ℓ, m′, s) is (−1)^{(ℓ+|m′|)/2} √2 Y_ℓ^{|m′|}(π/2, 0) 2πc² H_{ℓ,s,|m′|}(r)·{cos, sin}(|m′|θ) (no √2 for m′ = 0),
/// H by Gauss–Legendre quadrature accurate to rounding. Exact for the continuous model: no PSWF truncation.
/// </para>
/// Thread-safe; instances are cached per (L, ℓmax).
/// </summary>
public sealed unsafe class FourierBesselModel : IBatchProjectionModel, IFactoredProjectionModel
{
    private static readonly ConcurrentDictionary<(int, int), Lazy<FourierBesselModel>> Cache = new();

    private readonly double[] _g;       // (L²) × nEff row-major
    private readonly int[] _effOffset;  // Σ_{ℓ′<ℓ} S(ℓ′)(ℓ′+1)

    public static FourierBesselModel Get(int size, int ellMax)
        => Cache.GetOrAdd((size, ellMax),
            k => new Lazy<FourierBesselModel>(() => new FourierBesselModel(FourierBesselBasis.Create(k.Item1, k.Item2)))).Value;

    /// <summary>Builds G (use <see cref="Get"/> to share the cached instance).</summary>
    public FourierBesselModel(FourierBesselBasis basis)
    {
        Basis = basis;
        int L = basis.Size, lmax = basis.EllMax, o = L / 2;
        _effOffset = new int[lmax + 2];
        for (int l = 0; l <= lmax; l++)
        {
            _effOffset[l + 1] = _effOffset[l] + basis.RadialCount(l) * (l + 1);
        }
        EffectiveCount = _effOffset[lmax + 1];
        int nEff = EffectiveCount, npix = L * L;
        _g = new double[npix * nEff];

        int maxC = Math.Max(o, L - 1 - o);
        int maxR2 = 2 * maxC * maxC;
        double c = FourierBesselBasis.Bandlimit;
        var quad = basis.Quadrature(2 * Math.PI * c * Math.Sqrt(maxR2));
        var used = new bool[maxR2 + 1];
        for (int a = 0; a <= maxC; a++)
        {
            for (int b = 0; b <= maxC; b++)
            {
                used[a * a + b * b] = true;
            }
        }
        // H table per r²: for each (ℓ, s) the values for m = ℓ mod 2, ℓ mod 2 + 2, …, ℓ stored at [pair][m].
        int pairs = quad.Pairs;
        int hStride = pairs * (lmax + 1);
        var H = new double[(maxR2 + 1) * hStride];
        Parallel.For(0, maxR2 + 1, r2 =>
        {
            if (!used[r2])
            {
                return;
            }
            double r = Math.Sqrt(r2);
            Span<double> J = stackalloc double[lmax + 1];
            var h = H.AsSpan(r2 * hStride, hStride);
            for (int q = 0; q < quad.Nodes.Length; q++)
            {
                double k = quad.Nodes[q];
                SphericalBessel.CylindricalJ(lmax, 2 * Math.PI * c * k * r, J);
                var rad = quad.Rad.AsSpan(q * pairs, pairs);
                int pair = 0;
                for (int l = 0; l <= lmax; l++)
                {
                    for (int s = 0; s < basis.RadialCount(l); s++, pair++)
                    {
                        double w = quad.Weights[q] * k * rad[pair];
                        for (int m = l & 1; m <= l; m += 2)
                        {
                            h[pair * (lmax + 1) + m] += w * J[m];
                        }
                    }
                }
            }
        });
        Span<double> leg = stackalloc double[(lmax + 1) * (lmax + 2) / 2];
        SphericalBessel.NormalizedLegendre(lmax, 0, leg);
        var coef = new double[(lmax + 1) * (lmax + 1)]; // [ℓ][m] incl. sign, √2, 2πc²
        for (int l = 0; l <= lmax; l++)
        {
            for (int m = l & 1; m <= l; m += 2)
            {
                coef[l * (lmax + 1) + m] = (((l + m) / 2) % 2 == 0 ? 1 : -1) * (m == 0 ? 1 : Math.Sqrt(2)) * leg[l * (l + 1) / 2 + m]
                    * 2 * Math.PI * c * c;
            }
        }
        Parallel.For(0, npix, pix =>
        {
            int x = pix % L - o, y = pix / L - o;
            double th = Math.Atan2(y, x);
            var h = H.AsSpan((x * x + y * y) * hStride, hStride);
            var row = _g.AsSpan(pix * nEff, nEff);
            int pair = 0;
            for (int l = 0; l <= lmax; l++)
            {
                for (int s = 0; s < basis.RadialCount(l); s++, pair++)
                {
                    int b = _effOffset[l] + s * (l + 1);
                    for (int j = 0; j <= l; j++)
                    {
                        int mp = -l + 2 * j, am = Math.Abs(mp);
                        double v = coef[l * (lmax + 1) + am] * h[pair * (lmax + 1) + am];
                        if (mp > 0)
                        {
                            v *= Math.Cos(am * th);
                        }
                        else if (mp < 0)
                        {
                            v *= Math.Sin(am * th);
                        }
                        row[b + j] = v;
                    }
                }
            }
        });
    }

    public FourierBesselBasis Basis { get; }
    public int ImageSize => Basis.Size;
    public int ParameterCount => Basis.Count;
    /// <summary>Columns of G that can be non-zero: Σ S(ℓ)(ℓ+1).</summary>
    public int EffectiveCount { get; }

    /// <summary>G as an (L²)×EffectiveCount row-major copy (columns ordered ℓ, s, m′ = −ℓ, −ℓ+2, …, ℓ).</summary>
    public double[] GMatrix() => (double[])_g.Clone();

    /// <summary>Writes B(R) = G·D(R), (L·L)×n row-major, in the real parametrisation.</summary>
    public void ProjectionMatrix(Rotation rotation, Span<double> destination)
    {
        rotation.Validate();
        int L = Basis.Size, n = Basis.Count, npix = L * L, lmax = Basis.EllMax, nEff = EffectiveCount;
        if (destination.Length < npix * n)
        {
            throw new ArgumentException($"Destination needs {npix * n} elements.", nameof(destination));
        }
        var d = new double[WignerD.BlockLength(lmax)];
        WignerD.Real(rotation, lmax, d);
        Blas.EnsureLoaded();
        fixed (double* pg = _g, pd = d, pdst = destination)
        {
            for (int l = 0; l <= lmax; l++)
            {
                int dd = 2 * l + 1;
                double* blk = pd + WignerD.BlockOffset(l);
                for (int s = 0; s < Basis.RadialCount(l); s++)
                {
                    // C[pix, m] = Σ_j G[pix, (ℓ,s,j)] D[−ℓ+2j, m]; rows of D with stride 2(2ℓ+1).
                    Blas.Gemm(false, false, npix, dd, l + 1, 1.0, pg + _effOffset[l] + s * (l + 1), nEff, blk, 2 * dd, 0.0,
                        pdst + Basis.Offset(l) + s * dd, n);
                }
            }
        }
    }

    /// <summary>Rotated, G-reduced parameters: dst[(ℓ,s,j)] = Σ_m D^ℓ[−ℓ+2j, m] p[(ℓ,s,m)].</summary>
    private void ReducedRotated(ReadOnlySpan<double> p, ReadOnlySpan<double> d, Span<double> dst)
    {
        int lmax = Basis.EllMax;
        for (int l = 0; l <= lmax; l++)
        {
            int dd = 2 * l + 1, bo = WignerD.BlockOffset(l);
            for (int s = 0; s < Basis.RadialCount(l); s++)
            {
                var ps = p.Slice(Basis.Offset(l) + s * dd, dd);
                int eb = _effOffset[l] + s * (l + 1);
                for (int j = 0; j <= l; j++)
                {
                    var row = d.Slice(bo + 2 * j * dd, dd);
                    double acc = 0;
                    for (int m = 0; m < dd; m++)
                    {
                        acc += row[m] * ps[m];
                    }
                    dst[eb + j] = acc;
                }
            }
        }
    }

    /// <summary>One projection image I_R = B(R)·p (L×L, [y, x]).</summary>
    public void Project(ReadOnlySpan<double> coefficients, Rotation rotation, Span<double> image)
        => Project(coefficients, new[] { rotation }, image);

    /// <summary>
    /// Images for many rotations: images[k·L² + pixel] = (G·D(R_k)·p)[pixel]. The rotated reduced
    /// parameters are formed per rotation (in parallel), then all images come from one matrix product
    /// per block of rotations.
    /// </summary>
    public void Project(ReadOnlySpan<double> coefficients, IReadOnlyList<Rotation> rotations, Span<double> images)
    {
        int L = Basis.Size, n = Basis.Count, npix = L * L, lmax = Basis.EllMax, nEff = EffectiveCount, K = rotations.Count;
        if (coefficients.Length != n)
        {
            throw new ArgumentException($"Expected {n} coefficients for L = {L}, ℓmax = {lmax}, got {coefficients.Length}. " +
                $"Coefficients of one (L, ℓmax) cannot be used with another.", nameof(coefficients));
        }
        if (images.Length < (long)K * npix)
        {
            throw new ArgumentException($"Images span needs {(long)K * npix} elements.", nameof(images));
        }
        for (int k = 0; k < K; k++)
        {
            rotations[k].Validate();
        }
        if (K == 0)
        {
            return;
        }
        Blas.EnsureLoaded();
        var p = coefficients.ToArray();
        const int Block = 128;
        int nBlocks = (K + Block - 1) / Block;
        fixed (double* pimg0 = images)
        {
            IntPtr imgPtr = (IntPtr)pimg0;
            Parallel.For(0, nBlocks, () => (new double[Block * nEff], new double[WignerD.BlockLength(lmax)]), (bIdx, _, bufs) =>
            {
                var (red, d) = bufs;
                int k0 = bIdx * Block, cnt = Math.Min(Block, K - k0);
                for (int i = 0; i < cnt; i++)
                {
                    WignerD.Real(rotations[k0 + i], lmax, d);
                    ReducedRotated(p, d, red.AsSpan(i * nEff, nEff));
                }
                fixed (double* pr = red, pg = _g)
                {
                    double* pimg = (double*)imgPtr + (long)k0 * npix;
                    // images (cnt × L²) = red (cnt × nEff) · Gᵀ
                    Blas.Gemm(false, true, cnt, npix, nEff, 1.0, pr, nEff, pg, nEff, 0.0, pimg, npix);
                }
                return bufs;
            }, _ => { });
        }
    }

    int IFactoredProjectionModel.ReducedCount => EffectiveCount;
    double[] IFactoredProjectionModel.ReducedImageMatrix => _g;
    int IFactoredProjectionModel.ExpandScratchLength => WignerD.BlockLength(Basis.EllMax) + EffectiveCount * Basis.Count;

    /// <summary>
    /// E(R) maps p to the rotated reduced parameters: (ℓ,s,j) ← Σ_m D^ℓ[−ℓ+2j, m] p[(ℓ,s,m)]. With T = h·E (r×n) built
    /// block by block, c[(ℓ,s,·), cols ≥ its offset] += D^ℓ[rows −ℓ+2j]ᵀ · T[(ℓ,s,j), same cols] — the upper triangle.
    /// </summary>
    void IFactoredProjectionModel.AccumulateExpanded(Rotation rotation, double* h, double* g, double* c, double* y, double* scratch)
    {
        int n = Basis.Count, r = EffectiveCount, lmax = Basis.EllMax;
        double* d = scratch, t = scratch + WignerD.BlockLength(lmax);
        WignerD.Real(rotation, lmax, new Span<double>(d, WignerD.BlockLength(lmax)));
        for (int l = 0; l <= lmax; l++)
        {
            int dd = 2 * l + 1;
            double* blk = d + WignerD.BlockOffset(l);
            for (int s = 0; s < Basis.RadialCount(l); s++)
            {
                Blas.Gemm(false, false, r, dd, l + 1, 1.0, h + _effOffset[l] + s * (l + 1), r, blk, 2 * dd, 0.0,
                    t + Basis.Offset(l) + s * dd, n);
            }
        }
        for (int l = 0; l <= lmax; l++)
        {
            int dd = 2 * l + 1;
            double* blk = d + WignerD.BlockOffset(l);
            for (int s = 0; s < Basis.RadialCount(l); s++)
            {
                int o = Basis.Offset(l) + s * dd, e = _effOffset[l] + s * (l + 1);
                Blas.Gemm(true, false, dd, n - o, l + 1, 1.0, blk, 2 * dd, t + (long)e * n + o, n, 1.0, c + (long)o * n + o, n);
                for (int m = 0; m < dd; m++)
                {
                    double acc = 0;
                    for (int j = 0; j <= l; j++)
                    {
                        acc += blk[2 * j * dd + m] * g[e + j];
                    }
                    y[o + m] += acc;
                }
            }
        }
    }

    public override string ToString() => $"FourierBesselModel L = {ImageSize}, ℓmax = {Basis.EllMax}, {ParameterCount} parameters";
}
