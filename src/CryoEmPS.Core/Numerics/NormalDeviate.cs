namespace CryoEmPS.Core.Numerics;

/// <summary>
/// Standard normal deviates by the Box–Muller transform (Box and Muller 1958) from two uniform draws of a generator:
/// u₁ = 1 − U (so u₁ ∈ (0, 1] and log u₁ is finite), u₂ = U, r = √(−2 log u₁), and the pair
/// (r cos 2πu₂, r sin 2πu₂) of independent N(0, 1) deviates. Both the simulator's noise (the pair) and the EM's random
/// start (the cosine half only) draw through here, so they consume the generator in the same order.
/// </summary>
public static class NormalDeviate
{
    /// <summary>
    /// Two independent N(0, scale²) deviates from two uniform draws, each formed as (scale·r)·cos and (scale·r)·sin,
    /// in that order of operations (the simulator's noise depends on it bit for bit).
    /// </summary>
    public static (double Cos, double Sin) Pair(Random generator, double scale)
    {
        double u1 = 1.0 - generator.NextDouble(), u2 = generator.NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        double angle = 2 * Math.PI * u2;
        return (scale * radius * Math.Cos(angle), scale * radius * Math.Sin(angle));
    }

    /// <summary>One N(0, 1) deviate: the cosine half of <see cref="Pair"/> (two uniform draws; the sine half is discarded).</summary>
    public static double Next(Random generator) => Pair(generator, 1.0).Cos;
}
