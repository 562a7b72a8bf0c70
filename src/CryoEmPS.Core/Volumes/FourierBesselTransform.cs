using System.Collections.Concurrent;
using CryoEmPS.Core.Native;

namespace CryoEmPS.Core.Volumes;

/// <summary>
/// Volume ↔ Fourier–Bessel coefficients.
/// <para>
/// Synthesis evaluates the continuous expansion f(r) = Σ p_{ℓ,m,s} F_{ℓ,s}(|r|) Y_{ℓm}(r̂) (the inverse
/// Fourier transform of eq. 6, F_{ℓ,s} the radial integral with spherical Bessel functions, by
/// Gauss–Legendre quadrature accurate to rounding) at the L³ voxel centres r = (i − floor(L/2)).
/// </para>
/// <para>
/// Analysis is the LEAST-SQUARES fit of the voxel values by the bandlimited expansion (not a
/// quadrature): p = argmin ‖Φp − v‖₂ over all L³ voxels, Φ the synthesis matrix, solved by Cholesky on
/// ΦᵀΦ (the factor is cached per basis). Synthesis followed by analysis is therefore the identity.
/// </para>
/// </summary>
public static class FourierBesselTransform
{
    private const int Chunk = 2048;
    private static readonly ConcurrentDictionary<FourierBesselBasis, Lazy<double[]>> FactorCache = new();

    /// <summary>Least-squares Fourier–Bessel coefficients of a cubic volume up to ℓmax.</summary>
    public static FourierBesselVolume Analyze(Volume volume, int ellMax)
    {
        ArgumentNullException.ThrowIfNull(volume);
        volume.RequireCube();
        var basis = FourierBesselBasis.Create(volume.Size, ellMax);
        return new FourierBesselVolume(basis, AnalyzeData(basis, volume.Data), volume.VoxelSize, volume.Name);
    }

    /// <summary>Least-squares parameters of the voxel values <paramref name="data"/> ([z,y,x], length L³).</summary>
    public static unsafe double[] AnalyzeData(FourierBesselBasis basis, ReadOnlySpan<double> data)
    {
        int L = basis.Size, n = basis.Count, nv = L * L * L;
        if (data.Length != nv) throw new ArgumentException($"Expected {nv} voxel values for L = {L}.", nameof(data));
        // One BLAS thread: a threaded Cholesky may round differently with the number of cores, and the coefficients must be the
        // same bits in every process (a checkpoint's key holds them; MPI ranks bound to one core each compute them too).
        using var blas = Native.OpenBlasThreads.Single();
        var factor = FactorCache.GetOrAdd(basis, b => new Lazy<double[]>(() => GramFactor(b))).Value;
        var rhs = new double[n];
        var rows = new double[Chunk * n];
        var tables = new SynthesisTables(basis);
        fixed (double* pr = rows, prhs = rhs, pf = factor)
        fixed (double* pd = data)
        {
            for (int v0 = 0; v0 < nv; v0 += Chunk)
            {
                int cnt = Math.Min(Chunk, nv - v0);
                tables.Rows(v0, cnt, rows);
                Blas.Gemv(true, cnt, n, 1.0, pr, pd + v0, 1.0, prhs);
            }
            int info = Blas.CholeskySolve(n, pf, prhs);
            if (info != 0) throw new InvalidOperationException($"Cholesky solve failed (LAPACK info {info}).");
        }
        return rhs;
    }

    private static unsafe double[] GramFactor(FourierBesselBasis basis)
    {
        int L = basis.Size, n = basis.Count, nv = L * L * L;
        var gram = new double[(long)n * n];
        var rows = new double[Chunk * n];
        var tables = new SynthesisTables(basis);
        fixed (double* pg = gram, pr = rows)
        {
            for (int v0 = 0; v0 < nv; v0 += Chunk)
            {
                int cnt = Math.Min(Chunk, nv - v0);
                tables.Rows(v0, cnt, rows);
                Blas.SyrkAtA(n, cnt, 1.0, pr, v0 == 0 ? 0.0 : 1.0, pg);
            }
            int info = Blas.CholeskyFactor(n, pg);
            if (info != 0)
                throw new InvalidOperationException($"The Fourier–Bessel synthesis matrix for L = {L}, ℓmax = {basis.EllMax} is rank-deficient on the voxel grid (Cholesky info {info}).");
        }
        return gram;
    }

    /// <summary>The continuous expansion sampled at the L³ voxel centres.</summary>
    public static unsafe Volume Synthesize(FourierBesselVolume fb)
    {
        ArgumentNullException.ThrowIfNull(fb);
        var basis = fb.Basis;
        int L = basis.Size, n = basis.Count, nv = L * L * L;
        var data = new double[nv];
        var rows = new double[Chunk * n];
        var tables = new SynthesisTables(basis);
        fixed (double* pr = rows, pd = data, pc = fb.Coefficients)
        {
            for (int v0 = 0; v0 < nv; v0 += Chunk)
            {
                int cnt = Math.Min(Chunk, nv - v0);
                tables.Rows(v0, cnt, rows);
                Blas.Gemv(false, cnt, n, 1.0, pr, pc, 0.0, pd + v0);
            }
        }
        return new Volume(L, data, fb.VoxelSize, fb.Name);
    }

    /// <summary>
    /// The continuous expansion at arbitrary points (x, y, z) in pixels relative to the grid origin
    /// (quadrature sized for |r| ≤ maxRadius; default √3·L).
    /// </summary>
    public static double[] Evaluate(FourierBesselVolume fb, IReadOnlyList<(double X, double Y, double Z)> points, double maxRadius = 0)
    {
        var basis = fb.Basis;
        if (maxRadius <= 0) maxRadius = Math.Sqrt(3) * basis.Size;
        var quad = basis.Quadrature(2 * Math.PI * FourierBesselBasis.Bandlimit * maxRadius);
        var result = new double[points.Count];
        int lmax = basis.EllMax;
        var F = new double[quad.Pairs];
        var Y = new double[(lmax + 1) * (lmax + 1)];
        for (int i = 0; i < points.Count; i++)
        {
            var (x, y, z) = points[i];
            double r = Math.Sqrt(x * x + y * y + z * z);
            if (r > maxRadius * (1 + 1e-12)) throw new ArgumentOutOfRangeException(nameof(points), $"Point radius {r} exceeds the quadrature's range {maxRadius}.");
            basis.SpaceRadial(r, quad, F);
            FourierBesselBasis.RealSphericalHarmonics(lmax, x, y, z, Y);
            double v = 0; int pair = 0;
            for (int l = 0; l <= lmax; l++)
                for (int s = 1; s <= basis.RadialCount(l); s++, pair++)
                {
                    int b = basis.Index(l, -l, s);
                    for (int m = -l; m <= l; m++) v += fb.Coefficients[b + m + l] * F[pair] * Y[l * l + l + m];
                }
            result[i] = v;
        }
        return result;
    }

    /// <summary>Rows of the synthesis matrix Φ (voxel × parameter) for the L³ voxel grid.</summary>
    internal sealed class SynthesisTables
    {
        private readonly FourierBesselBasis _b;
        private readonly double[] _radial; // [r² integer][pair]
        private readonly int _pairs;

        public SynthesisTables(FourierBesselBasis b)
        {
            _b = b;
            int L = b.Size, o = L / 2;
            int maxC = Math.Max(o, L - 1 - o);
            int maxR2 = 3 * maxC * maxC;
            var quad = b.Quadrature(2 * Math.PI * FourierBesselBasis.Bandlimit * Math.Sqrt(maxR2));
            _pairs = quad.Pairs;
            _radial = new double[(maxR2 + 1) * _pairs];
            // only radii that occur: r² = a² + b² + c² with |a|,|b|,|c| ≤ maxC
            var used = new bool[maxR2 + 1];
            for (int a = 0; a <= maxC; a++) for (int bb = 0; bb <= maxC; bb++) for (int c = 0; c <= maxC; c++) used[a * a + bb * bb + c * c] = true;
            Parallel.For(0, maxR2 + 1, r2 =>
            {
                if (used[r2]) b.SpaceRadial(Math.Sqrt(r2), quad, _radial.AsSpan(r2 * _pairs, _pairs));
            });
        }

        public void Rows(int v0, int count, Span<double> dest)
        {
            var b = _b; int L = b.Size, o = L / 2, n = b.Count, lmax = b.EllMax;
            Span<double> Y = stackalloc double[(lmax + 1) * (lmax + 1)];
            for (int i = 0; i < count; i++)
            {
                int v = v0 + i;
                int x = v % L - o, y = v / L % L - o, z = v / (L * L) - o;
                FourierBesselBasis.RealSphericalHarmonics(lmax, x, y, z, Y);
                var F = _radial.AsSpan((x * x + y * y + z * z) * _pairs, _pairs);
                var row = dest.Slice(i * n, n);
                int pair = 0, idx = 0;
                for (int l = 0; l <= lmax; l++)
                    for (int s = 0; s < b.RadialCount(l); s++, pair++)
                        for (int m = -l; m <= l; m++) row[idx++] = F[pair] * Y[l * l + l + m];
            }
        }
    }
}
