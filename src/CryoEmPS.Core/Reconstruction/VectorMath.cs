using System.Numerics;
using System.Runtime.CompilerServices;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The E-step's exponential and running maximum on Vector&lt;T&gt; lanes (T = double or float), each with a scalar twin
/// that performs the same operations in the same order. Every lane does plain IEEE multiply and add (no fused
/// multiply–add), so a lane gives the same bits as the scalar twin on any CPU, for any vector width and thread count.
/// </summary>
internal static class VectorMath
{
    private const double Log2E = 1.4426950408889634;
    // Cody–Waite split of ln 2: Ln2Hi has 32 significant bits, so k·Ln2Hi is exact for |k| < 2^20.
    private const double Ln2Hi = 0.693147180369123816490;
    private const double Ln2Lo = 1.90821492927058770002e-10;
    /// <summary>Below this, 2^k would be subnormal: <see cref="Exp(double)"/> returns 0 (Math.Exp gives at most 1e-307 there).</summary>
    internal const double ExpFloor = -708.0;
    private const double RoundMagic = 6755399441055744.0; // 1.5·2^52

    // 1/n! for n = 2..13: Taylor series of e^r on |r| ≤ ln2/2 (truncation error r^14/14! < 5e-18, far below an ulp).
    private const double C2 = 1.0 / 2, C3 = 1.0 / 6, C4 = 1.0 / 24, C5 = 1.0 / 120, C6 = 1.0 / 720, C7 = 1.0 / 5040,
        C8 = 1.0 / 40320, C9 = 1.0 / 362880, C10 = 1.0 / 3628800, C11 = 1.0 / 39916800, C12 = 1.0 / 479001600, C13 = 1.0 / 6227020800;

    // Single precision: ln 2 split with 12 significant bits in the high part (k·Ln2HiF exact for |k| < 2^12),
    // Taylor series to r^7 (truncation error (ln2/2)^8/8! = 5e-9 < half an ulp of float).
    private const float Log2EF = 1.44269504f;
    private const float Ln2HiF = 0.693145751953125f;
    private const float Ln2LoF = 1.42860682e-06f;
    /// <summary>Below this, 2^k would be subnormal in float: <see cref="Exp(float)"/> returns 0.</summary>
    internal const float ExpFloorF = -87.0f;
    private const float RoundMagicF = 12582912.0f; // 1.5·2^23
    private const float F2 = 1.0f / 2, F3 = 1.0f / 6, F4 = 1.0f / 24, F5 = 1.0f / 120, F6 = 1.0f / 720, F7 = 1.0f / 5040;

    /// <summary>exp(x) per lane for x ≤ 0 (the E-step only exponentiates log-weights minus their maximum); below the floor (−708 double, −87 float) → 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp<T>(Vector<T> x) where T : struct
    {
        if (typeof(T) == typeof(double)) return Vector.As<double, T>(Exp(Vector.As<T, double>(x)));
        if (typeof(T) == typeof(float)) return Vector.As<float, T>(Exp(Vector.As<T, float>(x)));
        throw new NotSupportedException(typeof(T).Name);
    }

    /// <summary>max(a, b) per lane for numbers that are not NaN: one compare and one blend (Vector.Max follows IEEE 754
    /// maximum since .NET 9, three dependent instructions, which made a running maximum the bottleneck).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> MaxFinite<T>(Vector<T> a, Vector<T> b) where T : struct => Vector.ConditionalSelect(Vector.GreaterThan(a, b), a, b);

    /// <summary>exp(x) on Vector&lt;double&gt; lanes (x ≤ 0; below <see cref="ExpFloor"/> → 0). Relative error ≤ 4e-16 (tested).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<double> Exp(Vector<double> x)
    {
        var floor = new Vector<double>(ExpFloor);
        var under = Vector.LessThan(x, floor);
        x = Vector.ConditionalSelect(under, floor, x);
        // Round x·log2(e) to the nearest integer k with the 1.5·2^52 trick: the low mantissa bits of t then hold k.
        var t = x * new Vector<double>(Log2E) + new Vector<double>(RoundMagic);
        var k = t - new Vector<double>(RoundMagic);
        var r = (x - k * new Vector<double>(Ln2Hi)) - k * new Vector<double>(Ln2Lo);
        var p = new Vector<double>(C13);
        p = p * r + new Vector<double>(C12);
        p = p * r + new Vector<double>(C11);
        p = p * r + new Vector<double>(C10);
        p = p * r + new Vector<double>(C9);
        p = p * r + new Vector<double>(C8);
        p = p * r + new Vector<double>(C7);
        p = p * r + new Vector<double>(C6);
        p = p * r + new Vector<double>(C5);
        p = p * r + new Vector<double>(C4);
        p = p * r + new Vector<double>(C3);
        p = p * r + new Vector<double>(C2);
        p = p * r + Vector<double>.One;
        p = p * r + Vector<double>.One;
        var bits = Vector.ShiftLeft(Vector.AsVectorInt64(t), 52) + new Vector<long>(1023L << 52);
        return Vector.AndNot(p * Vector.AsVectorDouble(bits), Vector.AsVectorDouble(under));
    }

    /// <summary>The scalar twin of <see cref="Exp(Vector{double})"/>: the same operations, so the same bits.</summary>
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

    /// <summary>exp(x) on Vector&lt;float&gt; lanes (x ≤ 0; below <see cref="ExpFloorF"/> → 0). Relative error ≤ 2.5e-7 (tested).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x)
    {
        var floor = new Vector<float>(ExpFloorF);
        var under = Vector.LessThan(x, floor);
        x = Vector.ConditionalSelect(under, floor, x);
        var t = x * new Vector<float>(Log2EF) + new Vector<float>(RoundMagicF);
        var k = t - new Vector<float>(RoundMagicF);
        var r = (x - k * new Vector<float>(Ln2HiF)) - k * new Vector<float>(Ln2LoF);
        var p = new Vector<float>(F7);
        p = p * r + new Vector<float>(F6);
        p = p * r + new Vector<float>(F5);
        p = p * r + new Vector<float>(F4);
        p = p * r + new Vector<float>(F3);
        p = p * r + new Vector<float>(F2);
        p = p * r + Vector<float>.One;
        p = p * r + Vector<float>.One;
        var bits = Vector.ShiftLeft(Vector.AsVectorInt32(t), 23) + new Vector<int>(127 << 23);
        return Vector.AndNot(p * Vector.AsVectorSingle(bits), Vector.AsVectorSingle(under));
    }

    /// <summary>The scalar twin of <see cref="Exp(Vector{float})"/>.</summary>
    public static float Exp(float x)
    {
        if (x < ExpFloorF) return 0;
        float t = x * Log2EF + RoundMagicF;
        float k = t - RoundMagicF;
        float r = (x - k * Ln2HiF) - k * Ln2LoF;
        float p = F7;
        p = p * r + F6; p = p * r + F5; p = p * r + F4; p = p * r + F3; p = p * r + F2; p = p * r + 1.0f; p = p * r + 1.0f;
        return p * BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(t) << 23) + (127 << 23));
    }
}
