using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Tests;

/// <summary>The fast E-step and M-step against explicit A_{s,ω} matrices (eq. 19) on tiny problems, odd and even L.</summary>
public class ApproxEmStepTests
{
    private static void Close(double expected, double actual, double tol, string what)
    {
        double scale = Math.Max(1, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tol * scale, $"{what}: expected {expected:R}, got {actual:R} (diff {Math.Abs(expected - actual):g3}, tol {tol * scale:g3})");
    }

    [Fact]
    public void ShiftPriorSumsToOneAndFftSizeIsFast()
    {
        foreach (int l in new[] { 5, 6, 17 })
        {
            double s = 0;
            for (int sy = 0; sy < 2 * l; sy++) for (int sx = 0; sx < 2 * l; sx++) s += ShiftPrior.Probability(sy, sx, l, 0.3);
            Assert.Equal(1.0, s, 12);
            Assert.Equal(0.3, ShiftPrior.Probability(l, l, l, 0.3));
            Assert.Equal(0.0, ShiftPrior.Probability(l, 2, l, 0.3));
        }
        Assert.Equal(36, ShiftPrior.FastFftSize(17));
        for (int l = 2; l < 40; l++) Assert.True(ShiftPrior.FastFftSize(l) >= 2 * l - 1);
    }

    public static IEnumerable<object[]> Sizes() => new[] { new object[] { 5, 0 }, new object[] { 6, 0 }, new object[] { 7, 0 }, new object[] { 6, 11 }, new object[] { 5, 16 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void FastEStepAndMStepMatchBruteForce(int l, int fftSize)
    {
        int n = 7, k = 3, p = 5;
        var model = new RandomDenseModel(l, n, seed: l);
        var rot = EmData.Rotations(k, 10 + l);
        var xTrue = EmData.RandomVector(n, 0.6, 3);
        var (patches, _) = EmData.Make(model, rot, xTrue, p, sigma: 0.8, emptyFraction: 0.3, seed: 4);
        var x = EmData.RandomVector(n, 0.5, 5); // a current estimate that is not the truth
        double s2 = 0.9, v = 0.35;
        var mb = Enumerable.Range(0, p).ToArray();
        var brute = BruteForceEm.Run(model, rot, x, Enumerable.Range(0, p).Select(q => patches.Patch(q).ToArray()).ToArray(), s2, v);

        // log N for every (patch, lag, rotation): the FFT correlation + box energies vs explicit residuals.
        var table = EStep.LogLikelihoodTable(model, rot, x, patches, mb, s2, fftSize);
        int nl = 2 * l - 1, ns = 2 * l;
        for (int q = 0; q < p; q++)
            for (int w = 0; w < k; w++)
                for (int dy = -(l - 1); dy < l; dy++)
                    for (int dx = -(l - 1); dx < l; dx++)
                    {
                        int sy = ShiftPrior.ShiftOfLag(dy, l), sx = ShiftPrior.ShiftOfLag(dx, l);
                        double exp = brute.LogLik[((q * ns + sy) * ns + sx) * k + w];
                        double got = table[((q * k + w) * nl + dy + l - 1) * nl + dx + l - 1];
                        Close(exp, got, 1e-12, $"log N q={q} ω={w} d=({dy},{dx})");
                    }

        var e = EStep.Run(model, rot, x, patches, mb, s2, v, new EStepOptions { Threads = 2, FftSize = fftSize, Precision = EStepPrecision.Double });
        for (int q = 0; q < p; q++) Close(brute.PatchLl[q], e.PatchLogLikelihood[q], 1e-12, $"LL q={q}");
        Close(brute.V, e.EmptyPosterior, 1e-12, "v (eq. 31)");
        Assert.Equal(0, e.SkippedPairs);

        var eq = MStep.Build(model, rot, e, threads: 2);
        double cMax = brute.C.Max(Math.Abs), yMax = brute.Y.Max(Math.Abs);
        for (int i = 0; i < n * n; i++) Assert.True(Math.Abs(brute.C[i] - eq.Matrix[i]) <= 1e-10 * cMax, $"C[{i}]: {brute.C[i]:R} vs {eq.Matrix[i]:R}");
        for (int i = 0; i < n; i++) Assert.True(Math.Abs(brute.Y[i] - eq.RightHandSide[i]) <= 1e-10 * yMax, $"y[{i}]: {brute.Y[i]:R} vs {eq.RightHandSide[i]:R}");
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    public void NoiseFreeDataHaveZeroResidualAtTruthAndTruthIsAFixedPoint(int l)
    {
        int n = 9, k = 4, p = 40;
        var model = new RandomDenseModel(l, n, seed: 7);
        var rot = EmData.Rotations(k, 8);
        var xTrue = EmData.RandomVector(n, 1.0, 9);
        var (patches, truths) = EmData.Make(model, rot, xTrue, p, sigma: 0, emptyFraction: 0.25, seed: 10);
        var mb = Enumerable.Range(0, p).ToArray();
        double s2 = 1.0;
        double logNorm = -0.5 * l * l * Math.Log(2 * Math.PI * s2);
        var table = EStep.LogLikelihoodTable(model, rot, xTrue, patches, mb, s2);
        int nl = 2 * l - 1, ns = 2 * l;
        for (int q = 0; q < p; q++)
        {
            if (truths[q].Shift < 0) continue;
            int sy = truths[q].Shift / ns, sx = truths[q].Shift % ns;
            int dy = ShiftPrior.LagOfShift(sy, l)!.Value, dx = ShiftPrior.LagOfShift(sx, l)!.Value;
            double ll = table[((q * k + truths[q].Rotation) * nl + dy + l - 1) * nl + dx + l - 1];
            double residual = -(ll - logNorm) * 2 * s2; // ‖I − A x‖²
            double norm = patches.Patch(q).ToArray().Sum(a => a * a);
            Assert.True(Math.Abs(residual) <= 1e-11 * Math.Max(1, norm), $"patch {q}: residual {residual:g3} at its true (s, ω)");
        }

        // With σ² tiny the posterior is the true assignment (every other weight underflows to 0):
        // the M-step must return the true coefficients, and v the true empty fraction.
        var e = EStep.Run(model, rot, xTrue, patches, mb, 1e-8, 0.5, new EStepOptions { Threads = 2, Precision = EStepPrecision.Double });
        for (int r = 0; r < k; r++)
        {
            var w = e.ShiftWeight.AsSpan(r * nl * nl, nl * nl);
            for (int i = 0; i < nl * nl; i++)
            {
                int dy = i / nl - (l - 1), dx = i % nl - (l - 1);
                int expected = truths.Count(t => t.Rotation == r && t.Shift == ShiftPrior.ShiftOfLag(dy, l) * ns + ShiftPrior.ShiftOfLag(dx, l));
                Assert.Equal(expected, w[i], 9);
            }
        }
        Assert.Equal(truths.Count(t => t.Shift < 0) / (double)p, e.EmptyPosterior, 9);
        // Per patch: exactly 1 for the empty patches and 0 for the others.
        Assert.Equal(p, e.PatchEmptyPosterior.Length);
        for (int q = 0; q < p; q++)
        {
            Assert.Equal(truths[q].Shift < 0 ? 1.0 : 0.0, e.PatchEmptyPosterior[q], 9);
        }
        var sol = MStep.Solve(MStep.Build(model, rot, e, 2));
        Assert.Equal(0, sol.Regularization);
        double err = Math.Sqrt(sol.Coefficients.Zip(xTrue, (a, b) => (a - b) * (a - b)).Sum() / xTrue.Sum(a => a * a));
        Assert.True(err < 1e-9, $"relative error {err:g3}: the truth is not a fixed point");
    }

    [Fact]
    public void SingularNormalEquationsGetTheSmallestTikhonovTermAndSaySo()
    {
        int l = 5, n = 6, k = 3;
        var model = new RandomDenseModel(l, n, seed: 2, zeroColumn: 3); // parameter 3 never reaches an image
        var rot = EmData.Rotations(k, 1);
        var x = EmData.RandomVector(n, 0.5, 2); x[3] = 0;
        var (patches, _) = EmData.Make(model, rot, x, 10, 0.5, 0.2, 3);
        var e = EStep.Run(model, rot, x, patches, Enumerable.Range(0, 10).ToArray(), 0.25, 0.2);
        var sol = MStep.Solve(MStep.Build(model, rot, e));
        Assert.True(sol.Regularized);
        Assert.True(sol.Regularization > 0);
        Assert.True(double.IsPositiveInfinity(sol.ConditionEstimate) || sol.ConditionEstimate > 1e12, $"condition {sol.ConditionEstimate}");
        Assert.All(sol.Coefficients, c => Assert.True(double.IsFinite(c)));
        Assert.True(Math.Abs(sol.Coefficients[3]) < 1e-6);
    }
}
