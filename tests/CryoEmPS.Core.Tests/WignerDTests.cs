using System.Numerics;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

public class WignerDTests
{
    internal static Rotation RandomRotation(Random rng)
    {
        // Independent of the code under test: a unit quaternion.
        double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1, c = rng.NextDouble() * 2 - 1, d = rng.NextDouble() * 2 - 1;
        double n = Math.Sqrt(a * a + b * b + c * c + d * d); a /= n; b /= n; c /= n; d /= n;
        return new Rotation(
            a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c),
            2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b),
            2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d);
    }

    [Fact]
    public void RealD_RotatesRealHarmonics_UpToEll40()
    {
        // Y_ℓm(Rᵀ r̂) = Σ_m′ D_{m′m} Y_ℓm′(r̂), checked at random directions; tolerance 1e-10 absolute.
        var rng = new Random(11);
        int lmax = 40;
        var d = new double[WignerD.BlockLength(lmax)];
        var y0 = new double[(lmax + 1) * (lmax + 1)];
        var y1 = new double[(lmax + 1) * (lmax + 1)];
        double worst = 0;
        for (int t = 0; t < 5; t++)
        {
            var R = RandomRotation(rng);
            WignerD.Real(R, lmax, d);
            double x = rng.NextDouble() - 0.5, y = rng.NextDouble() - 0.5, z = rng.NextDouble() - 0.5;
            var (rx, ry, rz) = R.ApplyTranspose(x, y, z);
            FourierBesselBasis.RealSphericalHarmonics(lmax, rx, ry, rz, y0);
            FourierBesselBasis.RealSphericalHarmonics(lmax, x, y, z, y1);
            for (int l = 0; l <= lmax; l++)
            {
                int dd = 2 * l + 1, o = WignerD.BlockOffset(l);
                for (int m = -l; m <= l; m++)
                {
                    double s = 0;
                    for (int mp = -l; mp <= l; mp++) s += d[o + (mp + l) * dd + m + l] * y1[l * l + l + mp];
                    worst = Math.Max(worst, Math.Abs(s - y0[l * l + l + m]));
                }
            }
        }
        Assert.True(worst < 1e-10, $"worst {worst:g3}");
    }

    [Fact]
    public void Composition_And_Orthogonality_Ell40()
    {
        var rng = new Random(5);
        var r1 = RandomRotation(rng); var r2 = RandomRotation(rng);
        int l = 40, dd = 81;
        var a = WignerD.RealBlock(r1, l); var b = WignerD.RealBlock(r2, l); var ab = WignerD.RealBlock(r1 * r2, l);
        double worst = 0, orth = 0;
        for (int i = 0; i < dd; i++)
            for (int j = 0; j < dd; j++)
            {
                double s = 0, o = 0;
                for (int k = 0; k < dd; k++) { s += a[i, k] * b[k, j]; o += a[i, k] * a[j, k]; }
                worst = Math.Max(worst, Math.Abs(s - ab[i, j]));
                orth = Math.Max(orth, Math.Abs(o - (i == j ? 1 : 0)));
            }
        Assert.True(worst < 1e-10, $"composition error {worst:g3}");
        Assert.True(orth < 1e-10, $"orthogonality error {orth:g3}");
    }

    [Fact]
    public void ComplexD_RotatesComplexHarmonics()
    {
        var rng = new Random(8);
        var R = RandomRotation(rng);
        foreach (int l in new[] { 1, 2, 7, 20 })
        {
            var D = WignerD.Complex(R, l);
            double x = 0.3, y = -0.5, z = 0.7;
            var (rx, ry, rz) = R.ApplyTranspose(x, y, z);
            (double th, double ph) Ang(double a, double b, double c) => (Math.Acos(c / Math.Sqrt(a * a + b * b + c * c)), Math.Atan2(b, a));
            var (t0, p0) = Ang(rx, ry, rz); var (t1, p1) = Ang(x, y, z);
            for (int m = -l; m <= l; m++)
            {
                Complex s = 0;
                for (int mp = -l; mp <= l; mp++) s += D[mp + l, m + l] * FourierBesselBasis.SphericalHarmonic(l, mp, t1, p1);
                Assert.True((s - FourierBesselBasis.SphericalHarmonic(l, m, t0, p0)).Magnitude < 1e-11, $"l={l} m={m}");
            }
        }
        // ℓ = 1 about z by α: D¹_{mm} = e^{−imα} for f(Rᵀr) with R = Rz(α).
        double al = 0.7;
        var rz1 = new Rotation(Math.Cos(al), -Math.Sin(al), 0, Math.Sin(al), Math.Cos(al), 0, 0, 0, 1);
        var D1 = WignerD.Complex(rz1, 1);
        for (int m = -1; m <= 1; m++) Assert.True((D1[m + 1, m + 1] - Complex.FromPolarCoordinates(1, -m * al)).Magnitude < 1e-14);
    }
}
