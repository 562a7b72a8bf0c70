using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The prior's attenuation of the returned maps (<see cref="ApproxEm.PriorAttenuation"/>) and its place in the resolution
/// estimate (<see cref="ApproxEm.HalfMapResolution"/>): worked by hand on coefficient vectors whose MAP solution is a known gain
/// of the unregularised one.
/// </summary>
public class PriorAttenuationTests
{
    private static readonly FourierBesselBasis Basis = FourierBesselModel.Get(11, 4).Basis;

    /// <summary>x with degree ℓ multiplied by gain[ℓ].</summary>
    private static double[] Scaled(double[] x, double[] gain)
    {
        var y = (double[])x.Clone();
        for (int ell = 0; ell <= Basis.EllMax; ell++)
        {
            int o = Basis.Offset(ell), length = Basis.RadialCount(ell) * (2 * ell + 1);
            for (int i = o; i < o + length; i++)
            {
                y[i] *= gain[ell];
            }
        }

        return y;
    }

    [Fact]
    public void AGainPerDegreeComesBackDegreeByDegree()
    {
        var gain = new[] { 1.0, 0.9, 0.5, 0.12, 0.0 };
        var ml1 = EmData.RandomVector(Basis.Count, 1.0, 31);
        var ml2 = EmData.RandomVector(Basis.Count, 2.0, 32);
        var g = ApproxEm.PriorAttenuation(Basis, new[] { ml1, ml2 }, new[] { Scaled(ml1, gain), Scaled(ml2, gain) });
        Assert.Equal(gain.Length, g.Length);
        for (int ell = 0; ell < gain.Length; ell++)
        {
            Assert.Equal(gain[ell], g[ell], 12);
        }

        // No prior (the MAP solution is the unregularised one): nothing is attenuated.
        Assert.All(ApproxEm.PriorAttenuation(Basis, new[] { ml1, ml2 }, new[] { ml1, ml2 }), v => Assert.Equal(1.0, v, 14));
    }

    [Fact]
    public void TheHalvesArePooledAsOneRegression()
    {
        // Half 1 keeps 0.8 of degree 2, half 2 keeps 0.2; half 2 has twice the amplitude, so four times the weight:
        // g_2 = (0.8·‖a‖² + 0.2·4‖a‖²)/(‖a‖² + 4‖a‖²) = 1.6/5 = 0.32.
        var a = EmData.RandomVector(Basis.Count, 1.0, 33);
        var b = a.Select(v => 2 * v).ToArray();
        var g = ApproxEm.PriorAttenuation(Basis, new[] { a, b },
            new[] { Scaled(a, new[] { 1, 1, 0.8, 1, 1.0 }), Scaled(b, new[] { 1, 1, 0.2, 1, 1.0 }) });
        Assert.Equal(0.32, g[2], 12);
        Assert.Equal(1.0, g[1], 12);
    }

    [Fact]
    public void GainsOutsideZeroToOneAreClampedAndAnEmptyDegreeKeepsEverything()
    {
        var x = EmData.RandomVector(Basis.Count, 1.0, 34);
        var empty = Scaled(x, new[] { 1, 1, 1, 0, 1.0 });     // degree 3 has no power in the unregularised solution
        var g = ApproxEm.PriorAttenuation(Basis, new[] { empty }, new[] { Scaled(empty, new[] { -0.5, 2.0, 1, 1, 1 }) });
        Assert.Equal(0.0, g[0]);
        Assert.Equal(1.0, g[1]);
        Assert.Equal(1.0, g[3]);
    }

    [Fact]
    public void MismatchedSolutionsAreRejected()
    {
        var x = EmData.RandomVector(Basis.Count, 1.0, 35);
        Assert.Throws<ArgumentException>(() => ApproxEm.PriorAttenuation(Basis, new[] { x, x }, new[] { x }));
        Assert.Throws<ArgumentException>(() => ApproxEm.PriorAttenuation(Basis, new[] { x }, new[] { x.Take(3).ToArray() }));
    }

    [Fact]
    public void ADegreeThePriorRemovedLowersTheEstimateAndNoneLeavesItAlone()
    {
        // Two half maps that agree perfectly: the estimate is then the ceiling's crossing alone.
        var x = EmData.RandomVector(Basis.Count, 1.0, 36);
        var half = new FourierBesselVolume(Basis, x).ToVolume();
        var ones = Enumerable.Repeat(1.0, Basis.EllMax + 1).ToArray();
        var (halfShell, full) = ApproxEm.HalfMapResolution(half, half, Basis.EllMax, ones);
        var (_, same) = ApproxEm.HalfMapResolution(half, half, Basis.EllMax,
            ApproxEm.PriorAttenuation(Basis, new[] { x, x }, new[] { x, x }));
        Assert.Equal(full, same);
        // The prior kept only degrees 0 and 1: the map misses the rest of every shell, so its estimated crossing comes earlier.
        var kept = ApproxEm.PriorAttenuation(Basis, new[] { x, x }, new[] { Scaled(x, new[] { 1, 1, 0, 0, 0.0 }), Scaled(x, new[] { 1, 1, 0, 0, 0.0 }) });
        var (sameHalfShell, lower) = ApproxEm.HalfMapResolution(half, half, Basis.EllMax, kept);
        Assert.Equal(halfShell, sameHalfShell);   // the half-map FSC itself does not change
        Assert.True(lower < full - 0.5, $"estimate {lower} with degrees 2–4 removed, {full} without");
    }
}
