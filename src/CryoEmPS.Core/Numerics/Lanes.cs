using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CryoEmPS.Core.Numerics;

/// <summary>
/// A SIMD register of <see cref="Count"/> lanes of T as the E-step's kernels (<see cref="LaneFft2D{T, TV}"/>,
/// <see cref="EStepKernel{T, TV}"/>, <see cref="VectorMath.Exp{TV, T}"/>) see it: one rotation per lane, plain
/// vertical IEEE arithmetic (no fused multiply–add), so a lane gives the same bits whatever the register width.
/// <para>
/// Why an interface and not Vector&lt;T&gt; alone: .NET fixes Vector&lt;T&gt;'s width at start-up (256 bits unless
/// DOTNET_MaxVectorTBitWidth=512 is in the environment), and a module cannot change that. The kernels are generic
/// over the register type instead; <see cref="LaneWidth"/> picks <see cref="Vector512Lanes{T}"/> where the runtime
/// reports 512-bit vectors as accelerated, else <see cref="VectorLanes{T}"/>. The JIT compiles one specialised copy
/// of each kernel per struct type, so the wrapper costs nothing.
/// </para>
/// </summary>
internal interface ILanes<TSelf, T> :
    IAdditionOperators<TSelf, TSelf, TSelf>, ISubtractionOperators<TSelf, TSelf, TSelf>,
    IMultiplyOperators<TSelf, TSelf, TSelf>, IUnaryNegationOperators<TSelf, TSelf>
    where TSelf : unmanaged, ILanes<TSelf, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    static abstract int Count { get; }
    static abstract TSelf Zero { get; }
    /// <summary>Every lane = <paramref name="value"/>.</summary>
    static abstract TSelf Create(T value);
    /// <summary>Lane l = values[l] (values.Length ≥ Count).</summary>
    static abstract TSelf Create(ReadOnlySpan<T> values);
    T this[int lane] { get; }
    /// <summary>max(a, b) per lane for numbers that are not NaN: one compare and one blend (Vector.Max follows IEEE 754
    /// maximum since .NET 9, three dependent instructions, which made a running maximum the bottleneck).</summary>
    static abstract TSelf MaxFinite(TSelf a, TSelf b);
    /// <summary>floor where x &lt; floor, else x.</summary>
    static abstract TSelf RaiseTo(TSelf x, TSelf floor);
    /// <summary>value where x ≥ floor, 0 where x &lt; floor.</summary>
    static abstract TSelf ZeroBelow(TSelf value, TSelf x, TSelf floor);
    /// <summary>2^k for t = y + 1.5·2^p (p = 52 double, 23 float; |k| small), whose low mantissa bits hold k = round(y):
    /// (bits(t) &lt;&lt; p) + (bias &lt;&lt; p) read back as T.</summary>
    static abstract TSelf Pow2OfRounded(TSelf t);
}

/// <summary>Which lane type the E-step uses.</summary>
internal static class LaneWidth
{
    /// <summary>True where 512-bit vectors are accelerated (AVX-512 without a throttling penalty, as the runtime judges)
    /// and Vector&lt;T&gt; is narrower: then <see cref="Vector512Lanes{T}"/> doubles the lanes of <see cref="VectorLanes{T}"/>.</summary>
    public static bool Prefer512 => Vector512.IsHardwareAccelerated && Vector<byte>.Count < 64;

    /// <summary>Lanes of T per register for a choice (<paramref name="wide"/>: 512 bits).</summary>
    public static int Lanes<T>(bool wide) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => wide ? Vector512<T>.Count : Vector<T>.Count;
}

/// <summary>Lanes on Vector&lt;T&gt; (256 bits on AVX2 CPUs by default).</summary>
internal readonly struct VectorLanes<T> : ILanes<VectorLanes<T>, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector<T> _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private VectorLanes(Vector<T> v) => _v = v;

    public static int Count => Vector<T>.Count;
    public static VectorLanes<T> Zero => new(Vector<T>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> Create(T value) => new(new Vector<T>(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> Create(ReadOnlySpan<T> values) => new(new Vector<T>(values));
    public T this[int lane] { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => _v[lane]; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> operator +(VectorLanes<T> a, VectorLanes<T> b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> operator -(VectorLanes<T> a, VectorLanes<T> b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> operator *(VectorLanes<T> a, VectorLanes<T> b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> operator -(VectorLanes<T> a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> MaxFinite(VectorLanes<T> a, VectorLanes<T> b)
        => new(Vector.ConditionalSelect(Vector.GreaterThan(a._v, b._v), a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> RaiseTo(VectorLanes<T> x, VectorLanes<T> floor)
        => new(Vector.ConditionalSelect(Vector.LessThan(x._v, floor._v), floor._v, x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> ZeroBelow(VectorLanes<T> value, VectorLanes<T> x, VectorLanes<T> floor)
        => new(Vector.AndNot(value._v, Vector.LessThan(x._v, floor._v)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> Pow2OfRounded(VectorLanes<T> t)
    {
        if (typeof(T) == typeof(double))
        {
            return new(Vector.As<long, T>(Vector.ShiftLeft(Vector.AsVectorInt64(t._v), 52) + new Vector<long>(1023L << 52)));
        }
        if (typeof(T) == typeof(float))
        {
            return new(Vector.As<int, T>(Vector.ShiftLeft(Vector.AsVectorInt32(t._v), 23) + new Vector<int>(127 << 23)));
        }
        throw new NotSupportedException(typeof(T).Name);
    }
}

/// <summary>Lanes on Vector512&lt;T&gt; (8 doubles or 16 floats; AVX-512).</summary>
internal readonly struct Vector512Lanes<T> : ILanes<Vector512Lanes<T>, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector512<T> _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector512Lanes(Vector512<T> v) => _v = v;

    public static int Count => Vector512<T>.Count;
    public static Vector512Lanes<T> Zero => new(Vector512<T>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> Create(T value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> Create(ReadOnlySpan<T> values) => new(Vector512.Create(values));
    public T this[int lane] { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => _v[lane]; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> operator +(Vector512Lanes<T> a, Vector512Lanes<T> b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> operator -(Vector512Lanes<T> a, Vector512Lanes<T> b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> operator *(Vector512Lanes<T> a, Vector512Lanes<T> b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> operator -(Vector512Lanes<T> a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> MaxFinite(Vector512Lanes<T> a, Vector512Lanes<T> b)
        => new(Vector512.ConditionalSelect(Vector512.GreaterThan(a._v, b._v), a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> RaiseTo(Vector512Lanes<T> x, Vector512Lanes<T> floor)
        => new(Vector512.ConditionalSelect(Vector512.LessThan(x._v, floor._v), floor._v, x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> ZeroBelow(Vector512Lanes<T> value, Vector512Lanes<T> x, Vector512Lanes<T> floor)
        => new(Vector512.AndNot(value._v, Vector512.LessThan(x._v, floor._v)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512Lanes<T> Pow2OfRounded(Vector512Lanes<T> t)
    {
        if (typeof(T) == typeof(double))
        {
            return new((Vector512.ShiftLeft(t._v.AsInt64(), 52) + Vector512.Create(1023L << 52)).As<long, T>());
        }
        if (typeof(T) == typeof(float))
        {
            return new((Vector512.ShiftLeft(t._v.AsInt32(), 23) + Vector512.Create(127 << 23)).As<int, T>());
        }
        throw new NotSupportedException(typeof(T).Name);
    }
}

/// <summary>One lane: a plain T. The scalar twin of the vector lane types (the same operations in the same order, so the
/// same bits), used by <see cref="VectorMath.Exp(double)"/> and the tests.</summary>
internal readonly struct ScalarLanes<T> : ILanes<ScalarLanes<T>, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ScalarLanes(T v) => _v = v;

    public static int Count => 1;
    public static ScalarLanes<T> Zero => new(T.Zero);
    public static ScalarLanes<T> Create(T value) => new(value);
    public static ScalarLanes<T> Create(ReadOnlySpan<T> values) => new(values[0]);
    public T this[int lane] => lane == 0 ? _v : throw new ArgumentOutOfRangeException(nameof(lane));
    public static ScalarLanes<T> operator +(ScalarLanes<T> a, ScalarLanes<T> b) => new(a._v + b._v);
    public static ScalarLanes<T> operator -(ScalarLanes<T> a, ScalarLanes<T> b) => new(a._v - b._v);
    public static ScalarLanes<T> operator *(ScalarLanes<T> a, ScalarLanes<T> b) => new(a._v * b._v);
    public static ScalarLanes<T> operator -(ScalarLanes<T> a) => new(-a._v);
    public static ScalarLanes<T> MaxFinite(ScalarLanes<T> a, ScalarLanes<T> b) => a._v > b._v ? a : b;
    public static ScalarLanes<T> RaiseTo(ScalarLanes<T> x, ScalarLanes<T> floor) => x._v < floor._v ? floor : x;
    public static ScalarLanes<T> ZeroBelow(ScalarLanes<T> value, ScalarLanes<T> x, ScalarLanes<T> floor) => x._v < floor._v ? Zero : value;
    public static ScalarLanes<T> Pow2OfRounded(ScalarLanes<T> t)
    {
        if (typeof(T) == typeof(double))
        {
            double d = BitConverter.Int64BitsToDouble(
                (BitConverter.DoubleToInt64Bits(Unsafe.As<T, double>(ref Unsafe.AsRef(in t._v))) << 52) + (1023L << 52));
            return new(Unsafe.As<double, T>(ref d));
        }
        if (typeof(T) == typeof(float))
        {
            float f = BitConverter.Int32BitsToSingle(
                (BitConverter.SingleToInt32Bits(Unsafe.As<T, float>(ref Unsafe.AsRef(in t._v))) << 23) + (127 << 23));
            return new(Unsafe.As<float, T>(ref f));
        }
        throw new NotSupportedException(typeof(T).Name);
    }
}
