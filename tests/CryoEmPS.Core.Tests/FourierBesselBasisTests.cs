using System.Numerics;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

public class FourierBesselBasisTests
{
    [Theory]
    [InlineData(11, new[] { 84, 132, 219, 219 })]
    [InlineData(15, new[] { 134, 230, 425, 577 })]
    [InlineData(17, new[] { 159, 279, 546, 802 })]
    public void Counts_MatchConventions(int L, int[] expected)
    {
        int[] ells = { 4, 6, 10, 14 };
        for (int i = 0; i < ells.Length; i++)
        {
            int e = Math.Min(ells[i], FourierBesselBasis.MaxEll(L));
            Assert.Equal(expected[i], FourierBesselBasis.Create(L, e).Count);
        }
    }

    [Fact]
    public void RadialCounts_L17()
    {
        Assert.Equal(new[] { 7, 7, 7, 6, 6, 5, 5, 4, 4, 4, 3, 3, 3, 2, 2 }, FourierBesselBasis.Create(17, 14).RadialCounts);
        Assert.Equal(FourierBesselBasis.Create(16, 3).RadialCounts, FourierBesselBasis.Create(17, 3).RadialCounts); // R = 8 for both
    }

    [Fact]
    public void BadEllMax_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FourierBesselBasis.Create(17, -1));
        int max = FourierBesselBasis.MaxEll(17);
        FourierBesselBasis.Create(17, max);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => FourierBesselBasis.Create(17, max + 1));
        Assert.Contains(max.ToString(), ex.Message);
    }

    [Fact]
    public void IndexOrdering_RoundTrips()
    {
        var b = FourierBesselBasis.Create(15, 6);
        for (int i = 0; i < b.Count; i++) { var (l, m, s) = b.Unindex(i); Assert.Equal(i, b.Index(l, m, s)); }
        Assert.Equal(0, b.Index(0, 0, 1));
        Assert.Equal(b.RadialCount(0), b.Index(1, -1, 1));
    }

    [Fact]
    public void RealComplex_RoundTripExact_AndSymmetry_AndUnitary()
    {
        var b = FourierBesselBasis.Create(17, 10);
        var rng = new Random(3);
        var p = Enumerable.Range(0, b.Count).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var x = b.ToComplex(p);
        var back = b.FromComplex(x);
        for (int i = 0; i < p.Length; i++) Assert.True(Math.Abs(p[i] - back[i]) < 1e-15);
        double sp = 0, sx = 0;
        for (int i = 0; i < p.Length; i++) { sp += p[i] * p[i]; sx += x[i].Magnitude * x[i].Magnitude; }
        Assert.True(Math.Abs(sp - sx) < 1e-13 * sp);
        for (int l = 0; l <= b.EllMax; l++)
            for (int s = 1; s <= b.RadialCount(l); s++)
                for (int m = 0; m <= l; m++)
                {
                    Complex a = x[b.Index(l, -m, s)], c = ((l + m) % 2 == 0 ? 1 : -1) * Complex.Conjugate(x[b.Index(l, m, s)]);
                    Assert.True((a - c).Magnitude < 1e-15);
                }
    }
}
