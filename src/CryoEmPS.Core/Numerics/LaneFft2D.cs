using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CryoEmPS.Core.Numerics;

/// <summary>
/// M×M real 2-D FFTs done <see cref="Lanes"/> = TV.Count at a time (<see cref="ILanes{TSelf, T}"/>), one transform per SIMD lane: the
/// E-step's correlation and back-projection transforms for a group of rotations.
/// <para>
/// Why not FFTW here: the E-step makes two 36×36 transforms per (patch, rotation) pair, and with FFTW
/// (Debian's build has SSE2/AVX codelets) a single small transform is dominated by its plan's bookkeeping.
/// Lane-batching turns every butterfly into plain vertical SIMD arithmetic on W transforms at once, with no
/// shuffles; it is faster (timings: benchmarks/README.md; benchmarks/EmProfile, mode lanefft) and every lane does
/// exactly the scalar arithmetic of a single transform, so the bits do not depend on W, the CPU or the thread count.
/// </para>
/// <para>
/// Layouts (each element a TV register, lane w = transform w): real images [y·M + x]; half spectra as separate
/// real and imaginary arrays [k_y·H + k_x], H = M/2 + 1 (FFTW's r2c layout). Forward = e^{−2πi k·x/M}, no
/// normalisation either way (as FFTW). The 1-D transforms are Stockham autosort passes with radices 4, 9, 2, 3, 5 and a
/// direct DFT for any other prime factor, so every M ≥ 1 works; the rows go two at a time through one complex FFT
/// (z = a + i·b), the columns all at once as H interleaved sequences.
/// </para>
/// </summary>
internal sealed unsafe class LaneFft2D<T, TV> where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged, ILanes<TV, T>
{
    public static int Lanes => TV.Count;

    private readonly Stage[] _stages;

    public LaneFft2D(int m)
    {
        if (m < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(m));
        }
        M = m;
        H = m / 2 + 1;
        _stages = Plan(m);
    }

    public int M { get; }
    public int H { get; }
    /// <summary>Elements (vectors) of one complex plane: M·H, which also holds the M·⌈M/2⌉ row-pair sequences.</summary>
    public int ComplexLength => M * H;
    public int RealLength => M * M;

    /// <summary>Aligned scratch for one thread: two complex planes (re, im) for the Stockham ping-pong.</summary>
    public sealed class Scratch : IDisposable
    {
        public TV* Re, Im;
        public Scratch(LaneFft2D<T, TV> fft)
        {
            Re = Alloc(fft.ComplexLength);
            Im = Alloc(fft.ComplexLength);
        }
        public void Dispose()
        {
            if (Re != null)
            {
                NativeMemory.AlignedFree(Re);
            }
            if (Im != null)
            {
                NativeMemory.AlignedFree(Im);
            }
            Re = null;
            Im = null;
        }
    }

    /// <summary>An aligned, zeroed block of <paramref name="count"/> vectors (free with NativeMemory.AlignedFree).</summary>
    public static TV* Alloc(long count)
    {
        nuint bytes = (nuint)(Math.Max(1, count) * sizeof(TV));
        var p = (TV*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(p, bytes);
        return p;
    }

    /// <summary>
    /// r2c: <paramref name="real"/> (M·M, untouched) → half spectrum (<paramref name="re"/>, <paramref name="im"/>), M·H each.
    /// Only the first <paramref name="rows"/> rows of the image are read; the rest are taken as zero.
    /// </summary>
    public void Forward(TV* real, TV* re, TV* im, Scratch s, int rows = -1)
    {
        int m = M, h = H;
        if (rows < 0)
        {
            rows = m;
        }
        if (rows > m)
        {
            throw new ArgumentOutOfRangeException(nameof(rows));
        }
        int pairs = Math.Max(1, (rows + 1) / 2);
        // Rows two at a time: z = row(2p) + i·row(2p+1), stored [x][pair] so the M-point FFTs run interleaved.
        TV* zr = s.Re, zi = s.Im;
        int full = rows / 2;   // pairs with both rows present
        for (int x = 0; x < m; x++)
        {
            TV* a = real + x, dr = zr + x * pairs, di = zi + x * pairs;
            for (int p = 0; p < full; p++)
            {
                dr[p] = a[2 * p * m];
                di[p] = a[(2 * p + 1) * m];
            }
            for (int p = full; p < pairs; p++)
            {
                dr[p] = 2 * p < rows ? a[2 * p * m] : TV.Zero;
                di[p] = TV.Zero;
            }
        }
        bool inY = Transform(zr, zi, re, im, pairs, inverse: false);
        TV* fr = inY ? re : zr, fi = inY ? im : zi;   // the row spectra Z, [k][pair]
        TV* gr = inY ? zr : re, gi = inY ? zi : im;   // where the separated half spectra go, [y][k]
        var half = TV.Create(T.CreateTruncating(0.5));
        // Rows from 2·pairs on are zero.
        for (int y = 2 * pairs; y < m; y++)
        {
            new Span<TV>(gr + y * h, h).Clear();
            new Span<TV>(gi + y * h, h).Clear();
        }
        for (int p = 0; p < pairs; p++)
        {
            bool hasB = 2 * p + 1 < m;
            for (int k = 0; k < h; k++)
            {
                int kc = k == 0 ? 0 : m - k;
                TV zr0 = fr[k * pairs + p], zi0 = fi[k * pairs + p], cr = fr[kc * pairs + p], ci = fi[kc * pairs + p];
                // A = (Z + conj Zc)/2, B = (Z − conj Zc)/(2i)
                gr[2 * p * h + k] = (zr0 + cr) * half;
                gi[2 * p * h + k] = (zi0 - ci) * half;
                if (hasB)
                {
                    gr[(2 * p + 1) * h + k] = (zi0 + ci) * half;
                    gi[(2 * p + 1) * h + k] = (cr - zr0) * half;
                }
            }
        }
        // Columns: H interleaved M-point sequences over y.
        if (gr == re)
        {
            if (Transform(re, im, zr, zi, h, inverse: false))
            {
                Copy(zr, zi, re, im, m * h);
            }
        }
        else
        {
            if (!Transform(zr, zi, re, im, h, inverse: false))
            {
                Copy(zr, zi, re, im, m * h);
            }
        }
    }

    /// <summary>
    /// c2r: half spectrum (<paramref name="re"/>, <paramref name="im"/>; destroyed) → the first <paramref name="rows"/> rows of the
    /// M×M real image, unnormalised. The imaginary parts of the k_x = 0 and k_x = M/2 columns are ignored, as FFTW's c2r does.
    /// </summary>
    public void Backward(TV* re, TV* im, TV* real, int rows, Scratch s)
    {
        int m = M, h = H;
        if (rows < 0 || rows > m)
        {
            throw new ArgumentOutOfRangeException(nameof(rows));
        }
        // Columns first: G[y][k_x].
        bool inY = Transform(re, im, s.Re, s.Im, h, inverse: true);
        TV* gr = inY ? s.Re : re, gi = inY ? s.Im : im;
        TV* zr = inY ? re : s.Re, zi = inY ? im : s.Im;
        int pairs = (rows + 1) / 2;
        if (pairs == 0)
        {
            return;
        }
        // Rows two at a time: Z[k] = A[k] + i·B[k] over the full Hermitian extension, [k][pair].
        for (int p = 0; p < pairs; p++)
        {
            TV* ar = gr + 2 * p * h, ai = gi + 2 * p * h;
            bool hasB = 2 * p + 1 < m;
            TV* br = hasB ? ar + h : null, bi = hasB ? ai + h : null;
            for (int k = 0; k < m; k++)
            {
                TV aRe, aIm, bRe = TV.Zero, bIm = TV.Zero;
                if (k < h)
                {
                    aRe = ar[k];
                    aIm = ai[k];
                    if (hasB)
                    {
                        bRe = br![k];
                        bIm = bi![k];
                    }
                    if (k == 0 || 2 * k == m)
                    {
                        aIm = TV.Zero;
                        bIm = TV.Zero;
                    }
                }
                else
                {
                    int kc = m - k;
                    aRe = ar[kc];
                    aIm = -ai[kc];
                    if (hasB)
                    {
                        bRe = br![kc];
                        bIm = -bi![kc];
                    }
                }
                zr[k * pairs + p] = aRe - bIm;
                zi[k * pairs + p] = aIm + bRe;
            }
        }
        // The G planes are free now: use them as the ping-pong partner.
        bool outG = Transform(zr, zi, gr, gi, pairs, inverse: true);
        TV* outRe = outG ? gr : zr, outIm = outG ? gi : zi;
        for (int p = 0; p < pairs; p++)
        {
            TV* a = real + 2 * p * m;
            bool hasB = 2 * p + 1 < rows;
            for (int x = 0; x < m; x++)
            {
                a[x] = outRe[x * pairs + p];
                if (hasB)
                {
                    a[m + x] = outIm[x * pairs + p];
                }
            }
        }
    }

    private static void Copy(TV* sr, TV* si, TV* dr, TV* di, int n)
    {
        Buffer.MemoryCopy(sr, dr, (long)n * sizeof(TV), (long)n * sizeof(TV));
        Buffer.MemoryCopy(si, di, (long)n * sizeof(TV), (long)n * sizeof(TV));
    }

    // ---- 1-D Stockham passes --------------------------------------------------------------------------------------

    /// <summary>One pass of radix P on sub-transforms of length N = P·Mq: twiddles W_N^{i·u} (forward e^{−2πi·iu/N}).</summary>
    private sealed class Stage
    {
        public int P, Mq;
        public T[] TwRe = Array.Empty<T>(), TwIm = Array.Empty<T>();   // [i·(P−1) + u−1], forward sign
        public T[] RootRe = Array.Empty<T>(), RootIm = Array.Empty<T>(); // generic radix: e^{−2πi·j/P}
    }

    private static Stage[] Plan(int n)
    {
        var radices = new List<int>();
        int r = n;
        while (r % 4 == 0)
        {
            radices.Add(4);
            r /= 4;
        }
        while (r % 9 == 0)
        {
            radices.Add(9);
            r /= 9;
        }
        foreach (int p in new[] { 2, 3, 5 })
        {
            while (r % p == 0)
            {
                radices.Add(p);
                r /= p;
            }
        }
        for (int p = 7; r > 1; p += 2)
        {
            while (r % p == 0)
            {
                radices.Add(p);
                r /= p;
            }
        }
        var stages = new List<Stage>();
        int len = n;
        foreach (int p in radices)
        {
            int mq = len / p;
            var stage = new Stage { P = p, Mq = mq, TwRe = new T[mq * (p - 1)], TwIm = new T[mq * (p - 1)] };
            for (int i = 0; i < mq; i++)
            {
                for (int u = 1; u < p; u++)
                {
                    // Reduce i·u mod len before the angle so large products keep full accuracy.
                    double a = -2 * Math.PI * ((long)i * u % len) / len;
                    stage.TwRe[i * (p - 1) + u - 1] = T.CreateTruncating(Math.Cos(a));
                    stage.TwIm[i * (p - 1) + u - 1] = T.CreateTruncating(Math.Sin(a));
                }
            }
            if (p > 5 && p != 9)
            {
                stage.RootRe = new T[p];
                stage.RootIm = new T[p];
                for (int j = 0; j < p; j++)
                {
                    double a = -2 * Math.PI * j / p;
                    stage.RootRe[j] = T.CreateTruncating(Math.Cos(a));
                    stage.RootIm[j] = T.CreateTruncating(Math.Sin(a));
                }
            }
            stages.Add(stage);
            len = mq;
        }
        return stages.ToArray();
    }

    /// <summary>
    /// M-point complex FFTs of <paramref name="s0"/> interleaved sequences (element t of sequence q at q + s0·t), from
    /// (xr, xi) using (yr, yi) as the ping-pong partner. Returns true when the result is in y, false when in x.
    /// </summary>
    private bool Transform(TV* xr, TV* xi, TV* yr, TV* yi, int s0, bool inverse)
    {
        int s = s0;
        bool inY = false;
        var sign = TV.Create(inverse ? T.One : T.NegativeOne);
        foreach (var stage in _stages)
        {
            TV* sr = inY ? yr : xr, si = inY ? yi : xi, dr = inY ? xr : yr, di = inY ? xi : yi;
            fixed (T* twr = stage.TwRe)
            fixed (T* twi0 = stage.TwIm)
            {
                switch (stage.P)
                {
                    case 4:
                        Radix4(sr, si, dr, di, s, stage.Mq, twr, twi0, inverse, sign);
                        break;
                    case 2:
                        Radix2(sr, si, dr, di, s, stage.Mq, twr, twi0, inverse);
                        break;
                    case 3:
                        Radix3(sr, si, dr, di, s, stage.Mq, twr, twi0, inverse, sign);
                        break;
                    case 5:
                        Radix5(sr, si, dr, di, s, stage.Mq, twr, twi0, inverse, sign);
                        break;
                    case 9:
                        Radix9(sr, si, dr, di, s, stage.Mq, twr, twi0, inverse, sign);
                        break;
                    default:
                        RadixGeneric(stage, sr, si, dr, di, s, twr, twi0, inverse);
                        break;
                }
            }
            s *= stage.P;
            inY = !inY;
        }
        return inY;
    }

    /// <summary>dst = b·w (w = twiddle; conjugated for the inverse).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTwiddled(TV* dr, TV* di, int at, TV br, TV bi, TV wr, TV wi)
    {
        dr[at] = br * wr - bi * wi;
        di[at] = br * wi + bi * wr;
    }

    private static void Radix2(TV* sr, TV* si, TV* dr, TV* di, int s, int mq, T* twr, T* twi, bool inverse)
    {
        int str = s * mq;
        for (int i = 0; i < mq; i++)
        {
            TV w1r = TV.Create(twr[i]), w1i = TV.Create(inverse ? -twi[i] : twi[i]);
            int a = s * i, o = 2 * s * i;
            for (int q = 0; q < s; q++)
            {
                TV a0r = sr[a + q], a0i = si[a + q], a1r = sr[a + q + str], a1i = si[a + q + str];
                dr[o + q] = a0r + a1r;
                di[o + q] = a0i + a1i;
                if (i == 0)
                {
                    dr[o + s + q] = a0r - a1r;
                    di[o + s + q] = a0i - a1i;
                }
                else
                {
                    StoreTwiddled(dr, di, o + s + q, a0r - a1r, a0i - a1i, w1r, w1i);
                }
            }
        }
    }

    private static void Radix4(TV* sr, TV* si, TV* dr, TV* di, int s, int mq, T* twr, T* twi, bool inverse, TV sign)
    {
        int str = s * mq;
        T cj = inverse ? T.NegativeOne : T.One;
        for (int i = 0; i < mq; i++)
        {
            TV w1r = TV.Create(twr[3 * i]), w1i = TV.Create(cj * twi[3 * i]),
                w2r = TV.Create(twr[3 * i + 1]), w2i = TV.Create(cj * twi[3 * i + 1]),
                w3r = TV.Create(twr[3 * i + 2]), w3i = TV.Create(cj * twi[3 * i + 2]);
            int a = s * i, o = 4 * s * i;
            for (int q = 0; q < s; q++)
            {
                int j = a + q;
                TV a0r = sr[j], a0i = si[j], a1r = sr[j + str], a1i = si[j + str],
                    a2r = sr[j + 2 * str], a2i = si[j + 2 * str], a3r = sr[j + 3 * str], a3i = si[j + 3 * str];
                TV t0r = a0r + a2r, t0i = a0i + a2i, t1r = a0r - a2r, t1i = a0i - a2i;
                TV t2r = a1r + a3r, t2i = a1i + a3i, t3r = a1r - a3r, t3i = a1i - a3i;
                // σi·t3 with σ = −1 forward, +1 inverse: (−σ·t3i, σ·t3r)
                TV u3r = -(sign * t3i), u3i = sign * t3r;
                int k = o + q;
                dr[k] = t0r + t2r;
                di[k] = t0i + t2i;
                if (i == 0)
                {
                    dr[k + s] = t1r + u3r;
                    di[k + s] = t1i + u3i;
                    dr[k + 2 * s] = t0r - t2r;
                    di[k + 2 * s] = t0i - t2i;
                    dr[k + 3 * s] = t1r - u3r;
                    di[k + 3 * s] = t1i - u3i;
                }
                else
                {
                    StoreTwiddled(dr, di, k + s, t1r + u3r, t1i + u3i, w1r, w1i);
                    StoreTwiddled(dr, di, k + 2 * s, t0r - t2r, t0i - t2i, w2r, w2i);
                    StoreTwiddled(dr, di, k + 3 * s, t1r - u3r, t1i - u3i, w3r, w3i);
                }
            }
        }
    }

    private static void Radix3(TV* sr, TV* si, TV* dr, TV* di, int s, int mq, T* twr, T* twi, bool inverse, TV sign)
    {
        int str = s * mq;
        T cj = inverse ? T.NegativeOne : T.One;
        var half = TV.Create(T.CreateTruncating(0.5));
        var h3 = TV.Create(T.CreateTruncating(0.86602540378443864676)); // √3/2
        for (int i = 0; i < mq; i++)
        {
            TV w1r = TV.Create(twr[2 * i]), w1i = TV.Create(cj * twi[2 * i]),
                w2r = TV.Create(twr[2 * i + 1]), w2i = TV.Create(cj * twi[2 * i + 1]);
            int a = s * i, o = 3 * s * i;
            for (int q = 0; q < s; q++)
            {
                int j = a + q;
                TV a0r = sr[j], a0i = si[j], a1r = sr[j + str], a1i = si[j + str], a2r = sr[j + 2 * str], a2i = si[j + 2 * str];
                TV tr = a1r + a2r, ti = a1i + a2i;
                TV mr = a0r - tr * half, mi = a0i - ti * half;
                TV dR = (a1r - a2r) * h3, dI = (a1i - a2i) * h3;
                TV ur = -(sign * dI), ui = sign * dR;   // σi·d
                int k = o + q;
                dr[k] = a0r + tr;
                di[k] = a0i + ti;
                if (i == 0)
                {
                    dr[k + s] = mr + ur;
                    di[k + s] = mi + ui;
                    dr[k + 2 * s] = mr - ur;
                    di[k + 2 * s] = mi - ui;
                }
                else
                {
                    StoreTwiddled(dr, di, k + s, mr + ur, mi + ui, w1r, w1i);
                    StoreTwiddled(dr, di, k + 2 * s, mr - ur, mi - ui, w2r, w2i);
                }
            }
        }
    }

    private static void Radix5(TV* sr, TV* si, TV* dr, TV* di, int s, int mq, T* twr, T* twi, bool inverse, TV sign)
    {
        int str = s * mq;
        T cj = inverse ? T.NegativeOne : T.One;
        var c1 = TV.Create(T.CreateTruncating(0.30901699437494742410));
        var c2 = TV.Create(T.CreateTruncating(-0.80901699437494742410)); // cos 2π/5, cos 4π/5
        var s1 = TV.Create(T.CreateTruncating(0.95105651629515357212));
        var s2 = TV.Create(T.CreateTruncating(0.58778525229247312917)); // sin 2π/5, sin 4π/5
        for (int i = 0; i < mq; i++)
        {
            TV w1r = TV.Create(twr[4 * i]), w1i = TV.Create(cj * twi[4 * i]),
                w2r = TV.Create(twr[4 * i + 1]), w2i = TV.Create(cj * twi[4 * i + 1]);
            TV w3r = TV.Create(twr[4 * i + 2]), w3i = TV.Create(cj * twi[4 * i + 2]),
                w4r = TV.Create(twr[4 * i + 3]), w4i = TV.Create(cj * twi[4 * i + 3]);
            int a = s * i, o = 5 * s * i;
            for (int q = 0; q < s; q++)
            {
                int j = a + q;
                TV a0r = sr[j], a0i = si[j];
                TV a1r = sr[j + str], a1i = si[j + str], a2r = sr[j + 2 * str], a2i = si[j + 2 * str];
                TV a3r = sr[j + 3 * str], a3i = si[j + 3 * str], a4r = sr[j + 4 * str], a4i = si[j + 4 * str];
                TV t1r = a1r + a4r, t1i = a1i + a4i, t2r = a2r + a3r, t2i = a2i + a3i;
                TV d1r = a1r - a4r, d1i = a1i - a4i, d2r = a2r - a3r, d2i = a2i - a3i;
                TV m1r = a0r + c1 * t1r + c2 * t2r, m1i = a0i + c1 * t1i + c2 * t2i;
                TV m2r = a0r + c2 * t1r + c1 * t2r, m2i = a0i + c2 * t1i + c1 * t2i;
                TV e1r = s1 * d1r + s2 * d2r, e1i = s1 * d1i + s2 * d2i;   // b1,4 = m1 ± σi·e1
                TV e2r = s2 * d1r - s1 * d2r, e2i = s2 * d1i - s1 * d2i;   // b2,3 = m2 ± σi·e2
                TV u1r = -(sign * e1i), u1i = sign * e1r, u2r = -(sign * e2i), u2i = sign * e2r;
                int k = o + q;
                dr[k] = a0r + t1r + t2r;
                di[k] = a0i + t1i + t2i;
                if (i == 0)
                {
                    dr[k + s] = m1r + u1r;
                    di[k + s] = m1i + u1i;
                    dr[k + 2 * s] = m2r + u2r;
                    di[k + 2 * s] = m2i + u2i;
                    dr[k + 3 * s] = m2r - u2r;
                    di[k + 3 * s] = m2i - u2i;
                    dr[k + 4 * s] = m1r - u1r;
                    di[k + 4 * s] = m1i - u1i;
                }
                else
                {
                    StoreTwiddled(dr, di, k + s, m1r + u1r, m1i + u1i, w1r, w1i);
                    StoreTwiddled(dr, di, k + 2 * s, m2r + u2r, m2i + u2i, w2r, w2i);
                    StoreTwiddled(dr, di, k + 3 * s, m2r - u2r, m2i - u2i, w3r, w3i);
                    StoreTwiddled(dr, di, k + 4 * s, m1r - u1r, m1i - u1i, w4r, w4i);
                }
            }
        }
    }

    /// <summary>3-point DFT in place: (a0, a1, a2) → (b0, b1, b2), b_u = Σ_t a_t W₃^{tu}, W₃ = e^{σ2πi/3}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dft3(ref TV a0r, ref TV a0i, ref TV a1r, ref TV a1i, ref TV a2r, ref TV a2i, TV half, TV h3, TV sign)
    {
        TV tr = a1r + a2r, ti = a1i + a2i;
        TV mr = a0r - tr * half, mi = a0i - ti * half;
        TV dR = (a1r - a2r) * h3, dI = (a1i - a2i) * h3;
        TV ur = -(sign * dI), ui = sign * dR;   // σi·d
        a0r += tr;
        a0i += ti;
        a1r = mr + ur;
        a1i = mi + ui;
        a2r = mr - ur;
        a2i = mi - ui;
    }

    /// <summary>
    /// Radix 9 as 3×3 (t = 3t₁ + t₂, u = u₁ + 3u₂: W₉^{tu} = W₃^{t₁u₁}·W₉^{t₂u₁}·W₃^{t₂u₂}), so 36 = 4·9 takes two passes
    /// over the data instead of three.
    /// </summary>
    private static void Radix9(TV* sr, TV* si, TV* dr, TV* di, int s, int mq, T* twr, T* twi, bool inverse, TV sign)
    {
        int str = s * mq;
        T cj = inverse ? T.NegativeOne : T.One;
        var half = TV.Create(T.CreateTruncating(0.5));
        var h3 = TV.Create(T.CreateTruncating(0.86602540378443864676));
        // Inner twiddles W₉^{t₂u₁} for t₂, u₁ ∈ {1, 2}: W₉, W₉², W₉⁴ (forward e^{−2πik/9}).
        var c1 = TV.Create(T.CreateTruncating(Math.Cos(2 * Math.PI / 9)));
        var s1 = TV.Create(cj * T.CreateTruncating(-Math.Sin(2 * Math.PI / 9)));
        var c2 = TV.Create(T.CreateTruncating(Math.Cos(4 * Math.PI / 9)));
        var s2 = TV.Create(cj * T.CreateTruncating(-Math.Sin(4 * Math.PI / 9)));
        var c4 = TV.Create(T.CreateTruncating(Math.Cos(8 * Math.PI / 9)));
        var s4 = TV.Create(cj * T.CreateTruncating(-Math.Sin(8 * Math.PI / 9)));
        Span<TV> wr = stackalloc TV[8], wi = stackalloc TV[8];
        for (int i = 0; i < mq; i++)
        {
            for (int u = 1; u < 9; u++)
            {
                wr[u - 1] = TV.Create(twr[8 * i + u - 1]);
                wi[u - 1] = TV.Create(cj * twi[8 * i + u - 1]);
            }
            int a = s * i, o = 9 * s * i;
            for (int q = 0; q < s; q++)
            {
                int j = a + q;
                // Columns t₂ = 0, 1, 2 of a_{3t₁+t₂}: 3-point DFTs over t₁.
                TV x0r = sr[j], x0i = si[j], x3r = sr[j + 3 * str], x3i = si[j + 3 * str], x6r = sr[j + 6 * str], x6i = si[j + 6 * str];
                TV x1r = sr[j + str], x1i = si[j + str], x4r = sr[j + 4 * str], x4i = si[j + 4 * str],
                    x7r = sr[j + 7 * str], x7i = si[j + 7 * str];
                TV x2r = sr[j + 2 * str], x2i = si[j + 2 * str], x5r = sr[j + 5 * str], x5i = si[j + 5 * str],
                    x8r = sr[j + 8 * str], x8i = si[j + 8 * str];
                Dft3(ref x0r, ref x0i, ref x3r, ref x3i, ref x6r, ref x6i, half, h3, sign);   // c[0][u₁] in x0, x3, x6
                Dft3(ref x1r, ref x1i, ref x4r, ref x4i, ref x7r, ref x7i, half, h3, sign);   // c[1][u₁] in x1, x4, x7
                Dft3(ref x2r, ref x2i, ref x5r, ref x5i, ref x8r, ref x8i, half, h3, sign);   // c[2][u₁] in x2, x5, x8
                // Twiddles c[t₂][u₁] ·= W₉^{t₂u₁}: (1,1) W₉, (1,2) W₉², (2,1) W₉², (2,2) W₉⁴.
                TV tr, ti;
                tr = x4r * c1 - x4i * s1;
                ti = x4r * s1 + x4i * c1;
                x4r = tr;
                x4i = ti;
                tr = x7r * c2 - x7i * s2;
                ti = x7r * s2 + x7i * c2;
                x7r = tr;
                x7i = ti;
                tr = x5r * c2 - x5i * s2;
                ti = x5r * s2 + x5i * c2;
                x5r = tr;
                x5i = ti;
                tr = x8r * c4 - x8i * s4;
                ti = x8r * s4 + x8i * c4;
                x8r = tr;
                x8i = ti;
                // Rows u₁ = 0, 1, 2: 3-point DFTs over t₂ give b[u₁ + 3u₂].
                Dft3(ref x0r, ref x0i, ref x1r, ref x1i, ref x2r, ref x2i, half, h3, sign);   // b0, b3, b6
                Dft3(ref x3r, ref x3i, ref x4r, ref x4i, ref x5r, ref x5i, half, h3, sign);   // b1, b4, b7
                Dft3(ref x6r, ref x6i, ref x7r, ref x7i, ref x8r, ref x8i, half, h3, sign);   // b2, b5, b8
                int k = o + q;
                dr[k] = x0r;
                di[k] = x0i;
                if (i == 0)
                {
                    dr[k + s] = x3r;
                    di[k + s] = x3i;
                    dr[k + 2 * s] = x6r;
                    di[k + 2 * s] = x6i;
                    dr[k + 3 * s] = x1r;
                    di[k + 3 * s] = x1i;
                    dr[k + 4 * s] = x4r;
                    di[k + 4 * s] = x4i;
                    dr[k + 5 * s] = x7r;
                    di[k + 5 * s] = x7i;
                    dr[k + 6 * s] = x2r;
                    di[k + 6 * s] = x2i;
                    dr[k + 7 * s] = x5r;
                    di[k + 7 * s] = x5i;
                    dr[k + 8 * s] = x8r;
                    di[k + 8 * s] = x8i;
                }
                else
                {
                    StoreTwiddled(dr, di, k + s, x3r, x3i, wr[0], wi[0]);
                    StoreTwiddled(dr, di, k + 2 * s, x6r, x6i, wr[1], wi[1]);
                    StoreTwiddled(dr, di, k + 3 * s, x1r, x1i, wr[2], wi[2]);
                    StoreTwiddled(dr, di, k + 4 * s, x4r, x4i, wr[3], wi[3]);
                    StoreTwiddled(dr, di, k + 5 * s, x7r, x7i, wr[4], wi[4]);
                    StoreTwiddled(dr, di, k + 6 * s, x2r, x2i, wr[5], wi[5]);
                    StoreTwiddled(dr, di, k + 7 * s, x5r, x5i, wr[6], wi[6]);
                    StoreTwiddled(dr, di, k + 8 * s, x8r, x8i, wr[7], wi[7]);
                }
            }
        }
    }

    /// <summary>Any other prime radix: the direct P-point DFT per butterfly (only for FFT sizes with such factors).</summary>
    private static void RadixGeneric(Stage stage, TV* sr, TV* si, TV* dr, TV* di, int s, T* twr, T* twi, bool inverse)
    {
        int p = stage.P, mq = stage.Mq, str = s * mq;
        T cj = inverse ? T.NegativeOne : T.One;
        TV* ar = stackalloc TV[p];
        TV* ai = stackalloc TV[p];
        for (int i = 0; i < mq; i++)
        {
            int a = s * i, o = p * s * i;
            for (int q = 0; q < s; q++)
            {
                for (int t = 0; t < p; t++)
                {
                    ar[t] = sr[a + q + t * str];
                    ai[t] = si[a + q + t * str];
                }
                for (int u = 0; u < p; u++)
                {
                    TV br = ar[0], bi = ai[0];
                    for (int t = 1; t < p; t++)
                    {
                        int j = t * u % p;
                        var wr = TV.Create(stage.RootRe[j]);
                        var wi = TV.Create(cj * stage.RootIm[j]);
                        br += ar[t] * wr - ai[t] * wi;
                        bi += ar[t] * wi + ai[t] * wr;
                    }
                    int k = o + q + u * s;
                    if (i == 0 || u == 0)
                    {
                        dr[k] = br;
                        di[k] = bi;
                    }
                    else
                    {
                        StoreTwiddled(dr, di, k, br, bi, TV.Create(twr[i * (p - 1) + u - 1]), TV.Create(cj * twi[i * (p - 1) + u - 1]));
                    }
                }
            }
        }
    }
}
