using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Tests;

public class PatchOperatorTests
{
    [Theory]
    [InlineData(5)] [InlineData(6)]
    public void Adjoint_DotProductTest_AllShifts(int L)
    {
        var rng = new Random(L);
        var img = Enumerable.Range(0, L * L).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var pat = Enumerable.Range(0, L * L).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var a = new double[L * L]; var at = new double[L * L];
        for (int sy = 0; sy < 2 * L; sy++)
            for (int sx = 0; sx < 2 * L; sx++)
            {
                PatchOperator.Apply(img, L, sx, sy, a);
                PatchOperator.Adjoint(pat, L, sx, sy, at);
                double l = 0, r = 0;
                for (int i = 0; i < L * L; i++) { l += a[i] * pat[i]; r += img[i] * at[i]; }
                Assert.True(Math.Abs(l - r) < 1e-12, $"s=({sx},{sy})");
                if (sx == L || sy == L) Assert.All(a, v => Assert.Equal(0.0, v));
            }
    }

    [Fact]
    public void ShiftConvention_MatchesEq19ByHand()
    {
        int L = 4;
        var img = Enumerable.Range(0, 16).Select(i => (double)(i + 1)).ToArray();
        var p = new double[16];
        PatchOperator.Apply(img, L, 0, 0, p); Assert.Equal(img, p);
        PatchOperator.Apply(img, L, 1, 2, p); // patch[y,x] = img[y+2, x+1] inside, 0 outside
        Assert.Equal(img[2 * 4 + 1], p[0]);
        Assert.Equal(0.0, p[2 * 4 + 0]);            // y+2 = 4 ≥ L
        Assert.Equal(0.0, p[0 * 4 + 3]);            // x+1 = 4 ≥ L
        PatchOperator.Apply(img, L, 7, 7, p);       // shift −1: patch[y,x] = img[y−1, x−1]
        Assert.Equal(0.0, p[0]); Assert.Equal(img[0], p[1 * 4 + 1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => PatchOperator.Apply(img, L, 8, 0, p));
    }

    [Fact]
    public void ExplicitMatrix_MatchesApplyOnProjection_AndAdjointDotTest()
    {
        int L = 9, lmax = 4;
        var model = FourierBesselModel.Get(L, lmax);
        var rng = new Random(1);
        var R = WignerDTests.RandomRotation(rng);
        var x = Enumerable.Range(0, model.ParameterCount).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var pat = Enumerable.Range(0, L * L).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var img = new double[L * L];
        model.Project(x, R, img);
        foreach (var (sx, sy) in new[] { (0, 0), (3, 12), (L, 2), (17, 17), (5, L) })
        {
            var A = PatchOperator.ExplicitMatrix(model, R, sx, sy);
            var viaImage = new double[L * L];
            PatchOperator.Apply(img, L, sx, sy, viaImage);
            var viaModel = new double[L * L];
            PatchOperator.Apply(model, R, sx, sy, x, viaModel);
            for (int i = 0; i < L * L; i++)
            {
                double s = 0; for (int j = 0; j < x.Length; j++) s += A[i * x.Length + j] * x[j];
                Assert.True(Math.Abs(s - viaImage[i]) < 1e-12);
                Assert.True(Math.Abs(viaModel[i] - viaImage[i]) < 1e-12);
            }
            var adj = PatchOperator.Adjoint(model, R, sx, sy, pat);
            double l = 0, r = 0;
            for (int i = 0; i < L * L; i++) l += viaImage[i] * pat[i];
            for (int j = 0; j < x.Length; j++) r += x[j] * adj[j];
            Assert.True(Math.Abs(l - r) < 1e-12 * Math.Max(1, Math.Abs(l)), $"dot test s=({sx},{sy}): {l} vs {r}");
        }
    }
}
