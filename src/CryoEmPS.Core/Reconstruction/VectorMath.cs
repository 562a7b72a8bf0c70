using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The E-step's element-wise kernels on fixed-width <see cref="Vector256{T}"/> lanes (4 doubles), with a scalar tail
/// that performs the same operations in the same order. Every lane does plain IEEE multiply and add (no fused
/// multiply–add), so results are the same bits on any x64 or Arm CPU, with or without AVX, and for any thread count.
/// Sums are taken in a fixed order: four lane accumulators over the vector part, combined (l0+l1)+(l2+l3), then the tail.
/// </summary>
internal static class VectorMath
{
    private const double Log2E = 1.4426950408889634;
    // Cody–Waite split of ln 2: Ln2Hi has 32 significant bits, so k·Ln2Hi is exact for |k| < 2^20.
    private const double Ln2Hi = 0.693147180369123816490;
    private const double Ln2Lo = 1.90821492927058770002e-10;
    /// <summary>Below this, 2^k would be subnormal: <see cref="Exp"/> returns 0 (Math.Exp gives at most 1e-307 there).</summary>
    internal const double ExpFloor = -708.0;
    private const double RoundMagic = 6755399441055744.0; // 1.5·2^52

    // 1/n! for n = 2..13: Taylor series of e^r on |r| ≤ ln2/2 (truncation error r^14/14! < 5e-18, far below an ulp).
    private const double C2 = 1.0 / 2, C3 = 1.0 / 6, C4 = 1.0 / 24, C5 = 1.0 / 120, C6 = 1.0 / 720, C7 = 1.0 / 5040,
        C8 = 1.0 / 40320, C9 = 1.0 / 362880, C10 = 1.0 / 3628800, C11 = 1.0 / 39916800, C12 = 1.0 / 479001600, C13 = 1.0 / 6227020800;

    /// <summary>
    /// dst[i] = exp(src[i] − shift) for arguments ≤ 0 (the E-step only exponentiates log-weights minus their maximum);
    /// arguments below <see cref="ExpFloor"/> give exactly 0. Relative error ≤ 4e-16 against Math.Exp (tested).
    /// Returns Σ dst in the fixed order described on the class.
    /// </summary>
    public static double ExpShiftedSum(ReadOnlySpan<double> src, double shift, Span<double> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("Destination too short.", nameof(dst));
        int n = src.Length, i = 0;
        ref double s0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(src);
        ref double d0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dst);
        // The exponentials: 8 lanes where the CPU has them (each lane does the same operations, so the same bits).
        if (Vector512.IsHardwareAccelerated)
        {
            var vShift8 = Vector512.Create(shift);
            for (; i + 8 <= n; i += 8) Exp(Vector512.LoadUnsafe(ref s0, (nuint)i) - vShift8).StoreUnsafe(ref d0, (nuint)i);
        }
        var vShift = Vector256.Create(shift);
        for (; i + 4 <= n; i += 4) Exp(Vector256.LoadUnsafe(ref s0, (nuint)i) - vShift).StoreUnsafe(ref d0, (nuint)i);
        for (; i < n; i++) dst[i] = Exp(src[i] - shift);
        return Sum(dst.Slice(0, n));
    }

    /// <summary>Σ x in the fixed order described on the class.</summary>
    public static double Sum(ReadOnlySpan<double> x)
    {
        int n = x.Length, i = 0;
        ref double x0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        var acc = Vector256<double>.Zero;
        for (; i + 4 <= n; i += 4) acc += Vector256.LoadUnsafe(ref x0, (nuint)i);
        double sum = (acc.GetElement(0) + acc.GetElement(1)) + (acc.GetElement(2) + acc.GetElement(3));
        for (; i < n; i++) sum += x[i];
        return sum;
    }

    /// <summary>exp(x) on eight lanes: <see cref="Exp(Vector256{double})"/> twice as wide.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Exp(Vector512<double> x)
    {
        var under = Vector512.LessThan(x, Vector512.Create(ExpFloor));
        x = Vector512.Max(x, Vector512.Create(ExpFloor));
        var t = x * Vector512.Create(Log2E) + Vector512.Create(RoundMagic);
        var k = t - Vector512.Create(RoundMagic);
        var r = (x - k * Vector512.Create(Ln2Hi)) - k * Vector512.Create(Ln2Lo);
        var p = Vector512.Create(C13);
        p = p * r + Vector512.Create(C12);
        p = p * r + Vector512.Create(C11);
        p = p * r + Vector512.Create(C10);
        p = p * r + Vector512.Create(C9);
        p = p * r + Vector512.Create(C8);
        p = p * r + Vector512.Create(C7);
        p = p * r + Vector512.Create(C6);
        p = p * r + Vector512.Create(C5);
        p = p * r + Vector512.Create(C4);
        p = p * r + Vector512.Create(C3);
        p = p * r + Vector512.Create(C2);
        p = p * r + Vector512<double>.One;
        p = p * r + Vector512<double>.One;
        var bits = Vector512.ShiftLeft(t.AsInt64(), 52) + Vector512.Create(1023L << 52);
        return Vector512.AndNot(p * bits.AsDouble(), under.AsDouble());
    }

    /// <summary>exp(x) on four lanes (x ≤ 0; below <see cref="ExpFloor"/> → 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Exp(Vector256<double> x)
    {
        var under = Vector256.LessThan(x, Vector256.Create(ExpFloor));
        x = Vector256.Max(x, Vector256.Create(ExpFloor));
        // Round x·log2(e) to the nearest integer k with the 1.5·2^52 trick: the low mantissa bits of t then hold k.
        var t = x * Vector256.Create(Log2E) + Vector256.Create(RoundMagic);
        var k = t - Vector256.Create(RoundMagic);
        var r = (x - k * Vector256.Create(Ln2Hi)) - k * Vector256.Create(Ln2Lo);
        var p = Vector256.Create(C13);
        p = p * r + Vector256.Create(C12);
        p = p * r + Vector256.Create(C11);
        p = p * r + Vector256.Create(C10);
        p = p * r + Vector256.Create(C9);
        p = p * r + Vector256.Create(C8);
        p = p * r + Vector256.Create(C7);
        p = p * r + Vector256.Create(C6);
        p = p * r + Vector256.Create(C5);
        p = p * r + Vector256.Create(C4);
        p = p * r + Vector256.Create(C3);
        p = p * r + Vector256.Create(C2);
        p = p * r + Vector256<double>.One;
        p = p * r + Vector256<double>.One;
        var bits = Vector256.ShiftLeft(t.AsInt64(), 52) + Vector256.Create(1023L << 52);
        var scaled = p * bits.AsDouble();
        return Vector256.AndNot(scaled, under.AsDouble());
    }

    /// <summary>The scalar twin of <see cref="Exp(Vector256{double})"/>: the same operations, so the same bits.</summary>
    public static double Exp(double x)
    {
        if (x < ExpFloor) return 0;
        double t = x * Log2E + RoundMagic;
        double k = t - RoundMagic;
        double r = (x - k * Ln2Hi) - k * Ln2Lo;
        double p = C13;
        p = p * r + C12; p = p * r + C11; p = p * r + C10; p = p * r + C9; p = p * r + C8; p = p * r + C7;
        p = p * r + C6; p = p * r + C5; p = p * r + C4; p = p * r + C3; p = p * r + C2; p = p * r + 1.0; p = p * r + 1.0;
        return p * BitConverter.Int64BitsToDouble((BitConverter.DoubleToInt64Bits(t) << 52) + (1023L << 52));
    }

    /// <summary>dst[i] = a·x[i] − b·y[i]; returns max dst (−∞ for an empty span).</summary>
    public static double AxMinusByMax(double a, ReadOnlySpan<double> x, double b, ReadOnlySpan<double> y, Span<double> dst)
    {
        int n = x.Length, i = 0;
        var va = Vector256.Create(a); var vb = Vector256.Create(b);
        var vmax = Vector256.Create(double.NegativeInfinity);
        ref double x0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref double y0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        ref double d0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dst);
        for (; i + 4 <= n; i += 4)
        {
            var v = va * Vector256.LoadUnsafe(ref x0, (nuint)i) - vb * Vector256.LoadUnsafe(ref y0, (nuint)i);
            v.StoreUnsafe(ref d0, (nuint)i);
            vmax = Vector256.Max(vmax, v);
        }
        double max = Math.Max(Math.Max(vmax.GetElement(0), vmax.GetElement(1)), Math.Max(vmax.GetElement(2), vmax.GetElement(3)));
        for (; i < n; i++) { double v = a * x[i] - b * y[i]; dst[i] = v; if (v > max) max = v; }
        return max;
    }

    /// <summary>acc[i] += c·x[i].</summary>
    public static void AddScaled(Span<double> acc, double c, ReadOnlySpan<double> x)
    {
        int n = x.Length, i = 0;
        var vc = Vector256.Create(c);
        ref double x0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref double a0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(acc);
        for (; i + 4 <= n; i += 4)
            (Vector256.LoadUnsafe(ref a0, (nuint)i) + vc * Vector256.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref a0, (nuint)i);
        for (; i < n; i++) acc[i] += c * x[i];
    }

    /// <summary>dst[i] = c·x[i].</summary>
    public static void Scale(Span<double> dst, double c, ReadOnlySpan<double> x)
    {
        int n = x.Length, i = 0;
        var vc = Vector256.Create(c);
        ref double x0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref double d0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dst);
        for (; i + 4 <= n; i += 4) (vc * Vector256.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref d0, (nuint)i);
        for (; i < n; i++) dst[i] = c * x[i];
    }

    /// <summary>
    /// Complex products on interleaved (re, im) doubles, n complex numbers: conjugate-times, dst = conj(a)·b, or
    /// multiply-accumulate, acc += a·b. Two complex numbers per Vector256.
    /// </summary>
    public static unsafe void ConjMultiply(Complex* a, Complex* b, Complex* dst, int n)
    {
        double* pa = (double*)a, pb = (double*)b, pd = (double*)dst;
        int i = 0;
        for (; i + 2 <= n; i += 2)
        {
            var va = Vector256.Load(pa + 2 * i); var vb = Vector256.Load(pb + 2 * i);
            // (ar − i·ai)(br + i·bi) = (ar·br + ai·bi) + i(ar·bi − ai·br)
            var ar = Vector256.Shuffle(va, Vector256.Create(0L, 0L, 2L, 2L));
            var ai = Vector256.Shuffle(va, Vector256.Create(1L, 1L, 3L, 3L));
            var bs = Vector256.Shuffle(vb, Vector256.Create(1L, 0L, 3L, 2L));  // (bi, br)
            // ar·(br, bi) + ai·(bi, −br)
            var t = ai * bs * Vector256.Create(1.0, -1.0, 1.0, -1.0);
            (ar * vb + t).Store(pd + 2 * i);
        }
        for (; i < n; i++)
        {
            double ar = pa[2 * i], ai = pa[2 * i + 1], br = pb[2 * i], bi = pb[2 * i + 1];
            pd[2 * i] = ar * br + ai * bi;
            pd[2 * i + 1] = ar * bi + (ai * br) * -1.0;
        }
    }

    /// <summary>acc += a·b on n interleaved complex numbers.</summary>
    public static unsafe void MultiplyAdd(Complex* a, Complex* b, Complex* acc, int n)
    {
        double* pa = (double*)a, pb = (double*)b, pc = (double*)acc;
        int i = 0;
        for (; i + 2 <= n; i += 2)
        {
            var va = Vector256.Load(pa + 2 * i); var vb = Vector256.Load(pb + 2 * i);
            // (ar + i·ai)(br + i·bi) = (ar·br − ai·bi) + i(ar·bi + ai·br)
            var ar = Vector256.Shuffle(va, Vector256.Create(0L, 0L, 2L, 2L));
            var ai = Vector256.Shuffle(va, Vector256.Create(1L, 1L, 3L, 3L));
            var bs = Vector256.Shuffle(vb, Vector256.Create(1L, 0L, 3L, 2L));
            var t = ai * bs * Vector256.Create(-1.0, 1.0, -1.0, 1.0);
            (Vector256.Load(pc + 2 * i) + (ar * vb + t)).Store(pc + 2 * i);
        }
        for (; i < n; i++)
        {
            double ar = pa[2 * i], ai = pa[2 * i + 1], br = pb[2 * i], bi = pb[2 * i + 1];
            pc[2 * i] += ar * br + (ai * bi) * -1.0;
            pc[2 * i + 1] += ar * bi + ai * br;
        }
    }
}
