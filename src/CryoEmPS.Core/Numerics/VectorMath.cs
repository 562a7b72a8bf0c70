using System.Numerics;
using System.Runtime.CompilerServices;

namespace CryoEmPS.Core.Numerics;

/// <summary>
/// The E-step's exponential on lanes of any width (<see cref="ILanes{TSelf, T}"/>, T = double or float), written once:
/// the scalar twin is the same code on <see cref="ScalarLanes{T}"/>. Every lane does plain IEEE multiply and add (no
/// fused multiply–add), so a lane gives the same bits as the scalar twin on any CPU, for any vector width and thread count.
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

    /// <summary>exp(x) per lane for x ≤ 0 (the E-step only exponentiates log-weights minus their maximum); below the
    /// floor (−708 double, −87 float) → 0. Relative error ≤ 4.5e-16 (double) and ≤ 2.5e-7 (float), tested. Every lane
    /// type runs these same operations, so a lane of any width gives the bits of <see cref="Exp(double)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TV, T>(TV x) where TV : unmanaged, ILanes<TV, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // A JIT-time constant for T = double or float: only one side of each choice below is compiled.
        bool isDouble = typeof(T) == typeof(double);
        if (!isDouble && typeof(T) != typeof(float))
        {
            throw new NotSupportedException(typeof(T).Name);
        }
        var floor = isDouble ? C<TV, T>(ExpFloor) : CF<TV, T>(ExpFloorF);
        var xc = TV.RaiseTo(x, floor);
        // Round x·log2(e) to the nearest integer k with the 1.5·2^p trick: the low mantissa bits of t then hold k.
        var magic = isDouble ? C<TV, T>(RoundMagic) : CF<TV, T>(RoundMagicF);
        var t = xc * (isDouble ? C<TV, T>(Log2E) : CF<TV, T>(Log2EF)) + magic;
        var k = t - magic;
        var r = (xc - k * (isDouble ? C<TV, T>(Ln2Hi) : CF<TV, T>(Ln2HiF))) - k * (isDouble ? C<TV, T>(Ln2Lo) : CF<TV, T>(Ln2LoF));
        var p = isDouble ? TaylorDouble<TV, T>(r) : TaylorFloat<TV, T>(r);
        return TV.ZeroBelow(p * TV.Pow2OfRounded(t), x, floor);
    }

    /// <summary>Σ_{n ≤ 13} rⁿ/n! by Horner (double: |r| ≤ ln2/2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV TaylorDouble<TV, T>(TV r) where TV : unmanaged, ILanes<TV, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var p = C<TV, T>(C13);
        p = p * r + C<TV, T>(C12);
        p = p * r + C<TV, T>(C11);
        p = p * r + C<TV, T>(C10);
        p = p * r + C<TV, T>(C9);
        p = p * r + C<TV, T>(C8);
        p = p * r + C<TV, T>(C7);
        p = p * r + C<TV, T>(C6);
        p = p * r + C<TV, T>(C5);
        p = p * r + C<TV, T>(C4);
        p = p * r + C<TV, T>(C3);
        p = p * r + C<TV, T>(C2);
        p = p * r + TV.Create(T.One);
        return p * r + TV.Create(T.One);
    }

    /// <summary>Σ_{n ≤ 7} rⁿ/n! by Horner (float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV TaylorFloat<TV, T>(TV r) where TV : unmanaged, ILanes<TV, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var p = CF<TV, T>(F7);
        p = p * r + CF<TV, T>(F6);
        p = p * r + CF<TV, T>(F5);
        p = p * r + CF<TV, T>(F4);
        p = p * r + CF<TV, T>(F3);
        p = p * r + CF<TV, T>(F2);
        p = p * r + TV.Create(T.One);
        return p * r + TV.Create(T.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV C<TV, T>(double c)
        where TV : unmanaged, ILanes<TV, T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => TV.Create(T.CreateTruncating(c));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV CF<TV, T>(float c)
        where TV : unmanaged, ILanes<TV, T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => TV.Create(T.CreateTruncating(c));

    /// <summary>The scalar twin of <see cref="Exp{TV, T}"/> in double: the same operations, so the same bits.</summary>
    public static double Exp(double x) => Exp<ScalarLanes<double>, double>(ScalarLanes<double>.Create(x))[0];

    /// <summary>The scalar twin of <see cref="Exp{TV, T}"/> in float.</summary>
    public static float Exp(float x) => Exp<ScalarLanes<float>, float>(ScalarLanes<float>.Create(x))[0];
}
