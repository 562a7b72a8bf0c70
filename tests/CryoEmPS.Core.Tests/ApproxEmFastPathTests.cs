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
    public void VectorExpMatchesMathExpToTwoUlpAndEveryLaneEqualsTheScalarTwin()
    {
        var rng = new Random(7);
        var x = new double[20011];
        for (int i = 0; i < x.Length; i++) x[i] = -Math.Pow(rng.NextDouble(), 2) * 720; // dense near 0, down to −720
        x[0] = 0; x[1] = -1e-300; x[2] = -0.5 * Math.Log(2); x[3] = -707.9; x[4] = -708.5; x[5] = -800; x[6] = double.NegativeInfinity;
        double worst = 0;
        foreach (bool wide in new[] { false, true })
        for (int i0 = 0, w = LaneWidth.Lanes<double>(wide); i0 + w <= x.Length; i0 += w)
        {
            var got = wide ? Lanes<Vector512Lanes<double>, double>(x.AsSpan(i0)) : Lanes<VectorLanes<double>, double>(x.AsSpan(i0));
            for (int l = 0; l < w; l++)
            {
                double xi = x[i0 + l], exp = Math.Exp(xi);
                if (xi < VectorMath.ExpFloor) { Assert.Equal(0.0, got[l]); continue; }
                Assert.Equal(VectorMath.Exp(xi), got[l]); // scalar twin: same bits as the vector lanes
                worst = Math.Max(worst, Math.Abs(got[l] - exp) / exp);
            }
        }
        _out.WriteLine($"double: max relative error vs Math.Exp: {worst:g3}");
        Assert.True(worst <= 4.5e-16, $"relative error {worst:g3} exceeds 2 ulp");

        // Single precision: ≤ 2 ulp of float against the exact value, 0 below −87.
        var xf = x.Select(v => (float)Math.Max(v, -100)).ToArray();
        xf[3] = -86.9f; xf[4] = -87.5f;
        double worstF = 0;
        foreach (bool wide in new[] { false, true })
        for (int i0 = 0, wf = LaneWidth.Lanes<float>(wide); i0 + wf <= xf.Length; i0 += wf)
        {
            var got = wide ? Lanes<Vector512Lanes<float>, float>(xf.AsSpan(i0)) : Lanes<VectorLanes<float>, float>(xf.AsSpan(i0));
            for (int l = 0; l < wf; l++)
            {
                float xi = xf[i0 + l]; double exp = Math.Exp(xi);
                if (xi < VectorMath.ExpFloorF) { Assert.Equal(0.0f, got[l]); continue; }
                Assert.Equal(VectorMath.Exp(xi), got[l]);
                worstF = Math.Max(worstF, Math.Abs(got[l] - exp) / exp);
            }
        }
        _out.WriteLine($"float: max relative error vs Math.Exp: {worstF:g3}");
        Assert.True(worstF <= 2.5e-7, $"relative error {worstF:g3} exceeds 2 ulp of float");
    }

    /// <summary>max |a − b| over the largest |a|.</summary>
    private static double MaxRelativeDifference(double[] a, double[] b) => a.Zip(b, (p, q) => Math.Abs(p - q)).Max() / a.Max(Math.Abs);

    /// <summary>exp of the first TV.Count values through one register of type TV, lane by lane.</summary>
    private static T[] Lanes<TV, T>(ReadOnlySpan<T> x) where TV : unmanaged, ILanes<TV, T> where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var v = VectorMath.Exp<TV, T>(TV.Create(x));
        var got = new T[TV.Count];
        for (int l = 0; l < got.Length; l++) got[l] = v[l];
        return got;
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

    [Theory]
    [InlineData(EStepPrecision.Double)]
    [InlineData(EStepPrecision.Single)]
    public void FourierBesselEStepAndMStepAreBitIdenticalForOneTwoAndThreeThreadsAndEveryLaneWidth(EStepPrecision precision)
    {
        var (model, rot, x, patches, _) = FbProblem();
        var mb = Enumerable.Range(0, patches.Count).ToArray();
        EStepResult Run(int t, int bits) => EStep.Run(model, rot.Rotations, x, patches, mb, 0.5, 0.3, new EStepOptions { Threads = t, Precision = precision, LaneBits = bits });
        // 256: Vector<T> lanes; 512: Vector512 lanes (emulated in software where the CPU lacks AVX-512, with the same bits).
        var a = Run(1, 256); var b = Run(2, 256); var c = Run(3, 512); var d = Run(1, 512);
        foreach (var o in new[] { b, c, d })
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

    [Fact]
    public void SinglePrecisionKeepsLikelihoodStatisticsAndFscOfTheDoublePath()
    {
        // Tolerances: a per-patch LL is a log-sum-exp of lag log-likelihoods, so it moves by at most the documented
        // bound on their error (EStep.SingleErrorBound); b_ω and m_ω within 1e-4 of their largest entry; the M-step
        // solution within 1e-4; after a 3-iteration EM the LL/patch history within 1e-5 relative and the FSC curve
        // within 1e-3. Measured differences are printed.
        var (model, rot, x, patches, truth) = FbProblem(l: 11, ell: 4, k: 200, p: 120, sigma2: 0.5);
        var mb = Enumerable.Range(0, patches.Count).ToArray();
        var d = EStep.Run(model, rot.Rotations, x, patches, mb, 0.5, 0.3, new EStepOptions { Threads = 2, Precision = EStepPrecision.Double });
        var f = EStep.Run(model, rot.Rotations, x, patches, mb, 0.5, 0.3, new EStepOptions { Threads = 2, Precision = EStepPrecision.Single });
        Assert.Equal(EStepPrecision.Double, d.Precision);
        Assert.Equal(EStepPrecision.Single, f.Precision);
        double ll = d.PatchLogLikelihood.Zip(f.PatchLogLikelihood, (a, b) => Math.Abs(a - b)).Max();
        int l2 = model.ImageSize * model.ImageSize;
        var images = new double[rot.Count * l2];
        model.Project(x, rot.Rotations, images);
        double maxP = Enumerable.Range(0, rot.Count).Max(r => Math.Sqrt(images.Skip(r * l2).Take(l2).Sum(a => a * a)));
        double maxI = mb.Max(q => Math.Sqrt(patches.Patch(q).ToArray().Sum(a => a * a)));
        double bound = EStep.SingleErrorBound(maxI, maxP, 0.5, ShiftPrior.FastFftSize(model.ImageSize));
        double back = MaxRelativeDifference(d.BackProjection, f.BackProjection), pix = MaxRelativeDifference(d.PixelWeight, f.PixelWeight);
        var xd = MStep.Solve(MStep.Build(model, rot.Rotations, d, 2)).Coefficients;
        var xf = MStep.Solve(MStep.Build(model, rot.Rotations, f, 2)).Coefficients;
        double dx = Math.Sqrt(xd.Zip(xf, (p, q) => (p - q) * (p - q)).Sum() / xd.Sum(c => c * c));
        _out.WriteLine($"E-step: |ΔLL| per patch {ll:g3} (bound {bound:g3}), v {Math.Abs(d.EmptyPosterior - f.EmptyPosterior):g3}, b {back:g3}, m {pix:g3}; M-step x {dx:g3}");
        Assert.True(ll <= bound, $"per-patch LL differs by {ll:g3}, above the bound {bound:g3}");
        Assert.True(Math.Abs(d.EmptyPosterior - f.EmptyPosterior) <= 1e-6);
        Assert.True(back <= 1e-4 && pix <= 1e-4, $"statistics differ: b {back:g3}, m {pix:g3}");
        Assert.True(dx <= 1e-4, $"M-step solutions differ by {dx:g3}");

        var basis = FourierBesselBasis.Create(11, 4);
        ApproxEmRun Run(EStepPrecision p) => ApproxEm.Run(patches, x, new ApproxEmSettings
        {
            Stages = new[] { new ApproxEmStage(model, rot, 1.0, 3, ellMax: 4) }, NoiseVariance = 0.5, Seed = 3, Threads = 2, Precision = p,
        });
        var ed = Run(EStepPrecision.Double); var ef = Run(EStepPrecision.Single);
        Assert.All(ef.History, h => Assert.Equal(EStepPrecision.Single, h.Precision));
        double worstLl = ed.History.Zip(ef.History, (a, b) => Math.Abs(a.LogLikelihoodPerPatch - b.LogLikelihoodPerPatch) / Math.Abs(a.LogLikelihoodPerPatch)).Max();
        var fd = Fsc.Compute(truth, new FourierBesselVolume(basis, ed.Coefficients).ToVolume());
        var ff = Fsc.Compute(truth, new FourierBesselVolume(basis, ef.Coefficients).ToVolume());
        double worstFsc = fd.Curve.Zip(ff.Curve, (p, q) => Math.Abs(p.Correlation - q.Correlation)).Max();
        _out.WriteLine($"EM: max relative LL/patch difference {worstLl:g3}; max FSC difference {worstFsc:g3}; crossing {fd.CrossingShell:0.###} vs {ff.CrossingShell:0.###}");
        Assert.True(worstLl <= 1e-5, $"LL/patch differs by {worstLl:g3}");
        Assert.True(worstFsc <= 1e-3, $"FSC differs by {worstFsc:g3}");
    }

    [Fact]
    public void SinglePrecisionGramMatricesKeepTheNormalEquationsOfDoubleGrams()
    {
        // After a Single E-step the M-step forms each H_ω = Gᵀdiag(m_ω)G by ssyrk; the same statistics labelled Double
        // go through dsyrk. C, y and the solution must agree to float rounding of sums of L² products.
        var (model, rot, x, patches, _) = FbProblem(l: 11, ell: 6, k: 120, p: 60, sigma2: 0.5);
        var mb = Enumerable.Range(0, patches.Count).ToArray();
        var f = EStep.Run(model, rot.Rotations, x, patches, mb, 0.5, 0.3, new EStepOptions { Threads = 2, Precision = EStepPrecision.Single });
        Assert.Equal(EStepPrecision.Single, f.Precision);
        var asDouble = new EStepResult(f.ImageSize, f.RotationCount, f.Patches, f.PatchLogLikelihood, f.EmptyPosterior, f.BackProjection, f.PixelWeight, f.ShiftWeight, f.PairCount, f.SkippedPairs) { Precision = EStepPrecision.Double };
        var cs = MStep.Build(model, rot.Rotations, f, 2); var cd = MStep.Build(model, rot.Rotations, asDouble, 2);
        double c = MaxRelativeDifference(cd.Matrix, cs.Matrix), y = MaxRelativeDifference(cd.RightHandSide, cs.RightHandSide);
        var xs = MStep.Solve(cs).Coefficients; var xd = MStep.Solve(cd).Coefficients;
        double dx = Math.Sqrt(xd.Zip(xs, (p, q) => (p - q) * (p - q)).Sum() / xd.Sum(v => v * v));
        _out.WriteLine($"ssyrk vs dsyrk Gram matrices: C {c:g3} of its maximum, y {y:g3}, solution {dx:g3}");
        Assert.True(c > 0, "the single-precision path was not taken");
        Assert.True(c <= 1e-6, $"C differs by {c:g3} of its maximum");
        Assert.Equal(0.0, y);   // y = Σ E_ωᵀGᵀb_ω does not involve H_ω
        Assert.True(dx <= 1e-5, $"solutions differ by {dx:g3}");
        for (int i = 0; i < cs.ParameterCount; i++)
            for (int j = 0; j < i; j++) Assert.Equal(cs.Matrix[i * cs.ParameterCount + j], cs.Matrix[j * cs.ParameterCount + i]);
    }

    [Fact]
    public void AutoPrecisionTakesSingleAtModerateSnrAndDoubleWhenTheNoiseIsTiny()
    {
        var (model, rot, x, patches, _) = FbProblem(p: 10);
        var mb = Enumerable.Range(0, patches.Count).ToArray();
        Assert.Equal(EStepPrecision.Single, EStep.Run(model, rot.Rotations, x, patches, mb, 0.5, 0.3).Precision);
        Assert.Equal(EStepPrecision.Double, EStep.Run(model, rot.Rotations, x, patches, mb, 1e-6, 0.3).Precision);
        // The bound itself: 2^-24 · 4(1 + log2 M²) · ‖I‖‖p‖/σ².
        Assert.Equal(Math.Pow(2, -24) * 4 * (1 + Math.Log2(36.0 * 36)) * 30 * 20 / 2, EStep.SingleErrorBound(30, 20, 2, 36), 15);
    }

    /// <summary>The Fourier–Bessel model seen only through ILinearProjectionModel (no factored M-step path).</summary>
    private sealed class PlainModel : ILinearProjectionModel
    {
        private readonly FourierBesselModel _m;
        public PlainModel(FourierBesselModel m) => _m = m;
        public int ImageSize => _m.ImageSize;
        public int ParameterCount => _m.ParameterCount;
        public void ProjectionMatrix(Rotation rotation, Span<double> destination) => _m.ProjectionMatrix(rotation, destination);
    }

    [Theory]
    [InlineData(11, 4)]
    [InlineData(12, 7)]
    public void FactoredMStepEqualsTheDirectSumOverProjectionMatrices(int l, int ell)
    {
        // C = Σ_ω E_ωᵀ (Gᵀ diag(m_ω) G) E_ω and y = Σ_ω E_ωᵀ Gᵀ b_ω against Σ_ω B_ωᵀ diag(m_ω) B_ω and Σ_ω B_ωᵀ b_ω.
        var (model, rot, x, patches, _) = FbProblem(l: l, ell: ell, k: 40, p: 30);
        var e = EStep.Run(model, rot.Rotations, x, patches, Enumerable.Range(0, patches.Count).ToArray(), 0.5, 0.3, new EStepOptions { Threads = 2, Precision = EStepPrecision.Double });
        var fast = MStep.Build(model, rot.Rotations, e, 2);
        var direct = MStep.Build(new PlainModel(model), rot.Rotations, e, 2);
        double cMax = direct.Matrix.Max(Math.Abs), yMax = direct.RightHandSide.Max(Math.Abs);
        double dc = direct.Matrix.Zip(fast.Matrix, (a, b) => Math.Abs(a - b)).Max() / cMax;
        double dy = direct.RightHandSide.Zip(fast.RightHandSide, (a, b) => Math.Abs(a - b)).Max() / yMax;
        _out.WriteLine($"L = {l}, ℓmax = {ell}, n = {model.ParameterCount}, r = {model.EffectiveCount}: C {dc:g3}, y {dy:g3}");
        Assert.True(dc <= 1e-12, $"C differs by {dc:g3}");
        Assert.True(dy <= 1e-12, $"y differs by {dy:g3}");
        int n = model.ParameterCount;
        for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) Assert.Equal(fast.Matrix[i * n + j], fast.Matrix[j * n + i]);
    }
}
