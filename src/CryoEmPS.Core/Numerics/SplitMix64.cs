namespace CryoEmPS.Core.Numerics;

/// <summary>
/// The SplitMix64 finaliser (Steele, Lea and Flood 2014; the seeding function of xoshiro): a bijective, well-mixed
/// map of 64-bit words. Every seed the module derives (per micrograph, per noise block, per EM iteration) goes
/// through this one function, so a derived seed is a documented pure function of its inputs.
/// </summary>
public static class SplitMix64
{
    /// <summary>The golden-ratio increment 2⁶⁴/φ, odd.</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>One SplitMix64 step from state <paramref name="z"/>: (z + γ), then the two xor-shift-multiply rounds.</summary>
    public static ulong Mix(ulong z)
    {
        z += Gamma;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
