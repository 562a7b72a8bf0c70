using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The fast E-step's building blocks and options (issue 5): the vectorised exponential, thread-count independence on
/// the Fourier–Bessel model (batched projections, OpenBLAS), the likelihood-only final E-step, and the opt-in
/// posterior cutoff against the exact path.
/// </summary>
public class ApproxEmFastPathTests
{
    private readonly ITestOutputHelper _out;
    public ApproxEmFastPathTests(ITestOutputHelper o) => _out = o;

    [Fact]
    public void VectorExpMatchesMathExpToTwoUlpAndIsTheSameInEveryLaneWidth()
    {
        var rng = new Random(7);
        var x = new double[20011];
        for (int i = 0; i < x.Length; i++) x[i] = -Math.Pow(rng.NextDouble(), 2) * 720; // dense near 0, down to −720
        x[0] = 0; x[1] = -1e-300; x[2] = -0.5 * Math.Log(2); x[3] = -707.9; x[4] = -708.5; x[5] = -800; x[6] = double.NegativeInfinity;
        var got = new double[x.Length];
        double sum = VectorMath.ExpShiftedSum(x, 0, got);
        double worst = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double exp = Math.Exp(x[i]);
            if (x[i] < VectorMath.ExpFloor) { Assert.Equal(0.0, got[i]); continue; }
            Assert.Equal(VectorMath.Exp(x[i]), got[i]); // scalar twin: same bits as the vector lanes
            worst = Math.Max(worst, Math.Abs(got[i] - exp) / exp);
        }
        _out.WriteLine($"max relative error vs Math.Exp: {worst:g3}");
        Assert.True(worst <= 4.5e-16, $"relative error {worst:g3} exceeds 2 ulp");
        // The sum is Σ in a fixed order, close to a plain sum.
        double plain = 0; foreach (var g in got) plain += g;
        Assert.Equal(plain, sum, 1e-10 * plain);
        // Shifted: exp(x − s).
        var shifted = new double[5];
        VectorMath.ExpShiftedSum(new double[] { 3, 2, 1, 0, -1 }, 3, shifted);
        for (int i = 0; i < 5; i++) Assert.Equal(Math.Exp(-i), shifted[i], 15);
    }

    private static (FourierBesselModel Model, RotationSet Rot, double[] X, PatchSet Patches, Volume Truth) FbProblem(int l = 11, int ell = 4, int k = 60, int p = 40, double sigma2 = 0.5)
    {
        var truthFb = FourierBesselTransform.Analyze(ApproxEmEndToEndTests.Phantom(l, 3), ell);
        var model = FourierBesselModel.Get(l, ell);
        var rot = RotationGrid.SuperFibonacci(k);
        var patches = ApproxEmEndToEndTests.Patches(model, rot, truthFb.Coefficients, p, 0.3, sigma2, 9);
        var x = truthFb.Coefficients.Select((c, i) => c * (1 + 0.2 * Math.Sin(i))).ToArray(); // near, not at, the truth
        return (model, rot, x, patches, truthFb.ToVolume());
    }

    [Fact]
    public void FourierBesselEStepAndMStepAreBitIdenticalForOneTwoAndThreeThreads()
    {
        var (model, rot, x, patches, _) = FbProblem();
        var mb = Enumerable.Range(0, patches.Count).ToArray();
        EStepResult Run(int t) => EStep.Run(model, rot.Rotations, x, patches, mb, 0.5, 0.3, new EStepOptions { Threads = t });
        var a = Run(1); var b = Run(2); var c = Run(3);
        foreach (var o in new[] { b, c })
        {
            Assert.Equal(a.PatchLogLikelihood, o.PatchLogLikelihood);
            Assert.Equal(a.EmptyPosterior, o.EmptyPosterior);
            Assert.Equal(a.BackProjection, o.BackProjection);
            Assert.Equal(a.PixelWeight, o.PixelWeight);
            Assert.Equal(a.ShiftWeight, o.ShiftWeight);
        }
        var ca = MStep.Build(model, rot.Rotations, a, 1); var cb = MStep.Build(model, rot.Rotations, a, 2);
        Assert.Equal(ca.Matrix, cb.Matrix);
        Assert.Equal(ca.RightHandSide, cb.RightHandSide);
    }

    [Fact]
    public void LikelihoodOnlyEStepGivesTheSameLikelihoodWithoutStatistics()
    {
        var (model, rot, x, patches, _) = FbProblem(p: 20);
        var mb = Enumerable.Range(0, patches.Count).ToArray();
        var full = EStep.Run(model, rot.Rotations, x, patches, mb, 0.5, 0.3, new EStepOptions { Threads = 2 });
        var ll = EStep.Run(model, rot.Rotations, x, patches, mb, 0.5, 0.3, new EStepOptions { Threads = 2, LikelihoodOnly = true });
        Assert.Equal(full.PatchLogLikelihood, ll.PatchLogLikelihood);
        Assert.Equal(full.EmptyPosterior, ll.EmptyPosterior);
        Assert.Empty(ll.BackProjection);
        Assert.Equal(model.ImageSize * model.ImageSize * rot.Count, full.BackProjection.Length);
    }

    [Fact]
    public void PosteriorCutoffKeepsLikelihoodAndFscOfTheExactPath()
    {
        // The opt-in approximation drops (patch, rotation) pairs whose posterior mass is below the cutoff from the
        // statistics (never from the likelihood). Tolerances: per-iteration LL/patch within 1e-6 relative and the final
        // FSC curve within 1e-6 of the exact run; measured differences are printed.
        var (model, rot, x, patches, truth) = FbProblem(l: 11, ell: 4, k: 200, p: 120, sigma2: 0.05);
        var basis = FourierBesselBasis.Create(11, 4);
        ApproxEmRun Run(double cutoff) => ApproxEm.Run(patches, x, new ApproxEmSettings
        {
            Stages = new[] { new ApproxEmStage(model, rot, 1.0, 3, ellMax: 4) }, NoiseVariance = 0.05, Seed = 3, Threads = 2, PosteriorCutoff = cutoff,
        });
        var exact = Run(0); var cut = Run(1e-12);
        double skipped = cut.History.Max(h => h.SkippedFraction);
        _out.WriteLine($"skipped fraction (max over iterations): {skipped:P1}");
        Assert.True(skipped > 0.05, $"the cutoff skipped only {skipped:P2} of the pairs: the test problem does not exercise it");
        double worstLl = 0;
        for (int i = 0; i < exact.History.Count; i++)
        {
            double a = exact.History[i].LogLikelihoodPerPatch, b = cut.History[i].LogLikelihoodPerPatch;
            worstLl = Math.Max(worstLl, Math.Abs(a - b) / Math.Abs(a));
        }
        var fe = Fsc.Compute(truth, new FourierBesselVolume(basis, exact.Coefficients).ToVolume());
        var fc = Fsc.Compute(truth, new FourierBesselVolume(basis, cut.Coefficients).ToVolume());
        double worstFsc = fe.Curve.Zip(fc.Curve, (p, q) => Math.Abs(p.Correlation - q.Correlation)).Max();
        double dx = Math.Sqrt(exact.Coefficients.Zip(cut.Coefficients, (p, q) => (p - q) * (p - q)).Sum() / exact.Coefficients.Sum(c => c * c));
        _out.WriteLine($"max relative LL/patch difference {worstLl:g3}; max FSC difference {worstFsc:g3}; relative coefficient difference {dx:g3}");
        Assert.True(worstLl <= 1e-6, $"LL/patch differs by {worstLl:g3} (tolerance 1e-6)");
        Assert.True(worstFsc <= 1e-6, $"FSC differs by {worstFsc:g3} (tolerance 1e-6)");
    }
}
