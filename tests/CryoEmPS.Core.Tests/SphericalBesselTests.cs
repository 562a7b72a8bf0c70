using CryoEmPS.Core.Volumes;
using MathNet.Numerics;

namespace CryoEmPS.Core.Tests;

public class SphericalBesselTests
{
    [Theory]
    [InlineData(0.3)] [InlineData(1.0)] [InlineData(7.7)] [InlineData(25.1)] [InlineData(60.0)] [InlineData(180.5)]
    public void SphericalJ_MatchesMathNetAmos(double x)
    {
        // Independent reference: MathNet's SphericalBesselJ (Amos). Tolerance 1e-12 absolute
        // (values are ≤ 1; Amos itself is accurate to ~1e-14).
        int lmax = 60;
        var j = new double[lmax + 1];
        SphericalBessel.SphericalJ(lmax, x, j);
        for (int l = 0; l <= lmax; l++)
        {
            double r = SpecialFunctions.SphericalBesselJ(l, x);
            Assert.True(Math.Abs(j[l] - r) < 1e-12, $"j_{l}({x}) = {j[l]} vs {r}");
        }
    }

    [Theory]
    [InlineData(0.5)] [InlineData(3.0)] [InlineData(20.0)] [InlineData(95.0)]
    public void CylindricalJ_MatchesMathNetAmos(double x)
    {
        int mmax = 45;
        var J = new double[mmax + 1];
        SphericalBessel.CylindricalJ(mmax, x, J);
        for (int m = 0; m <= mmax; m++)
            Assert.True(Math.Abs(J[m] - SpecialFunctions.BesselJ(m, x)) < 1e-12, $"J_{m}({x})");
    }

    [Fact]
    public void Zeros_KnownValuesAndResiduals_UpToEll40AndL129()
    {
        // Published values (Abramowitz & Stegun table 10.6): first zeros of j_1, j_2; j_0 zeros are sπ.
        var z = SphericalBessel.ZerosBelow(2 * Math.PI * 64 * 0.5); // L = 129
        Assert.Equal(4.493409457909064, z[1][0], 12);
        Assert.Equal(7.725251836937707, z[1][1], 12);
        Assert.Equal(5.763459196894550, z[2][0], 12);
        for (int s = 0; s < z[0].Length; s++) Assert.Equal((s + 1) * Math.PI, z[0][s], 12);
        Assert.Equal(63, z[0].Length); // the tie u = 64π is excluded
        Assert.True(z.Length > 41);
        for (int l = 0; l < z.Length; l++)
        {
            for (int s = 0; s < z[l].Length; s++)
            {
                // residual relative to the local slope scale: |j_ℓ(u)| tiny compared with |j_{ℓ+1}(u)|
                double res = Math.Abs(SpecialFunctions.SphericalBesselJ(l, z[l][s]));
                Assert.True(res < 1e-11 * Math.Abs(SpecialFunctions.SphericalBesselJ(l + 1, z[l][s])) + 1e-14, $"j_{l} zero {s}: residual {res}");
                if (s > 0) Assert.True(z[l][s] > z[l][s - 1] + 1.0);
                if (l > 0) Assert.True(z[l][s] > z[l - 1][s] && (s + 1 >= z[l - 1].Length || z[l][s] < z[l - 1][s + 1]), "interlacing");
            }
        }
        // No zero missed: the count matches a sign-change scan for a few ℓ up to 40.
        foreach (int l in new[] { 3, 17, 40 })
        {
            int count = 0; double prev = SphericalBessel.SphericalJ(l, 0.5);
            for (double x = 0.55; x < 64 * Math.PI - 1e-6; x += 0.05)
            {
                double v = SphericalBessel.SphericalJ(l, x);
                if (Math.Sign(v) != Math.Sign(prev)) count++;
                prev = v;
            }
            Assert.Equal(count, z[l].Length);
        }
    }

    [Fact]
    public void NormalizedLegendre_ClosedForms()
    {
        double ct = 0.37, st = Math.Sqrt(1 - ct * ct);
        var p = new double[66];
        SphericalBessel.NormalizedLegendre(10, ct, p);
        Assert.Equal(Math.Sqrt(1 / (4 * Math.PI)), p[0], 14);
        Assert.Equal(Math.Sqrt(3 / (4 * Math.PI)) * ct, p[1], 14);
        Assert.Equal(-Math.Sqrt(3 / (8 * Math.PI)) * st, p[2], 14);
        Assert.Equal(Math.Sqrt(5 / (16 * Math.PI)) * (3 * ct * ct - 1), p[3], 14);
        Assert.Equal(-Math.Sqrt(15 / (8 * Math.PI)) * st * ct, p[4], 14);
        Assert.Equal(Math.Sqrt(15 / (32 * Math.PI)) * st * st, p[5], 14);
    }
}
