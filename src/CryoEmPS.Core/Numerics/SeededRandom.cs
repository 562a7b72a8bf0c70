namespace CryoEmPS.Core.Numerics;

/// <summary>
/// The one random generator of CryoEmPS: xoshiro256** 1.0 (Blackman and Vigna, "Scrambled linear pseudorandom number
/// generators", ACM TOMS 2021; reference code at prng.di.unimi.it), its 256-bit state filled by four successive
/// SplitMix64 outputs from the seed. Every draw is a pure function of the seed written down here, so "same seed, same
/// micrograph" holds across .NET versions, which <see cref="Random"/>(int) does not promise.
/// <list type="bullet">
/// <item>state: s₀..s₃ = SplitMix64 outputs of z = (ulong)(uint)seed, z + γ, z + 2γ, z + 3γ (<see cref="SplitMix64.Mix"/>);
/// a negative int seed is taken as its 32-bit pattern;</item>
/// <item><see cref="NextUInt64"/>: result = rotl(s₁·5, 7)·9, then the xoshiro256 state update;</item>
/// <item><see cref="NextDouble"/>: (next &gt;&gt; 11)·2⁻⁵³, uniform on [0, 1) with 53 random bits;</item>
/// <item><see cref="Next(int, int)"/> and <see cref="NextInt64(long, long)"/>: uniform integers in [min, max), unbiased by
/// Lemire's multiply-and-reject method on 64-bit draws;</item>
/// <item><see cref="NextNormal"/>: N(0, 1) by Box–Muller (<see cref="NormalDeviate"/>).</item>
/// </list>
/// It derives from <see cref="Random"/> and overrides every virtual member, so code that takes a <see cref="Random"/>
/// (shuffles, placements, uniform rotations) draws from this sequence. Golden first draws are held by a test.
/// The integer and uniform draws are exact integer arithmetic; the normal deviates go through Math.Log, Math.Sqrt,
/// Math.Cos and Math.Sin, which .NET computes with the platform's C library (equal on x64 Linux today, not promised
/// to the last bit everywhere).
/// </summary>
public sealed class SeededRandom : Random
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>A generator whose sequence is fixed by <paramref name="seed"/> (its 32-bit pattern).</summary>
    public SeededRandom(int seed)
        : this((ulong)(uint)seed)
    {
    }

    /// <summary>A generator whose sequence is fixed by a 64-bit <paramref name="seed"/>.</summary>
    public SeededRandom(ulong seed)
        : base(0)
    {
        ulong z = seed;
        _s0 = SplitMix64.Mix(z);
        z += SplitMix64.Gamma;
        _s1 = SplitMix64.Mix(z);
        z += SplitMix64.Gamma;
        _s2 = SplitMix64.Mix(z);
        z += SplitMix64.Gamma;
        _s3 = SplitMix64.Mix(z);
        Seed = seed;
    }

    /// <summary>The seed this generator was made from.</summary>
    public ulong Seed { get; }

    /// <summary>The next 64 random bits (xoshiro256**).</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform on [0, 1): the top 53 bits of <see cref="NextUInt64"/> times 2⁻⁵³.</summary>
    public override double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform on [0, 1) with 24 random bits.</summary>
    public override float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>A standard normal deviate: the cosine half of a Box–Muller pair (two uniform draws).</summary>
    public double NextNormal() => NormalDeviate.Next(this);

    /// <summary>A uniform integer in [0, int.MaxValue).</summary>
    public override int Next() => (int)Bounded(int.MaxValue);

    /// <summary>A uniform integer in [0, <paramref name="maxValue"/>).</summary>
    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)Bounded((ulong)maxValue);
    }

    /// <summary>A uniform integer in [<paramref name="minValue"/>, <paramref name="maxValue"/>).</summary>
    public override int Next(int minValue, int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return (int)(minValue + (long)Bounded((ulong)((long)maxValue - minValue)));
    }

    /// <summary>A uniform integer in [0, long.MaxValue).</summary>
    public override long NextInt64() => (long)Bounded(long.MaxValue);

    /// <summary>A uniform integer in [0, <paramref name="maxValue"/>).</summary>
    public override long NextInt64(long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (long)Bounded((ulong)maxValue);
    }

    /// <summary>A uniform integer in [<paramref name="minValue"/>, <paramref name="maxValue"/>).</summary>
    public override long NextInt64(long minValue, long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return unchecked(minValue + (long)Bounded(unchecked((ulong)maxValue - (ulong)minValue)));
    }

    /// <summary>Fills <paramref name="buffer"/> with random bytes, eight per draw, little-endian.</summary>
    public override void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());

    /// <summary>Fills <paramref name="buffer"/> with random bytes, eight per draw, little-endian.</summary>
    public override void NextBytes(Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i += 8)
        {
            ulong bits = NextUInt64();
            for (int k = 0; k < 8 && i + k < buffer.Length; k++)
            {
                buffer[i + k] = (byte)(bits >> (8 * k));
            }
        }
    }

    /// <summary>The same as <see cref="NextDouble"/>.</summary>
    protected override double Sample() => NextDouble();

    /// <summary>Uniform in [0, n) (0 when n is 0): Lemire's multiply-high with rejection of the biased low products.</summary>
    private ulong Bounded(ulong n)
    {
        if (n == 0)
        {
            return 0;
        }
        ulong high = Math.BigMul(NextUInt64(), n, out ulong low);
        if (low < n)
        {
            ulong threshold = unchecked(0 - n) % n;
            while (low < threshold)
            {
                high = Math.BigMul(NextUInt64(), n, out low);
            }
        }
        return high;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
