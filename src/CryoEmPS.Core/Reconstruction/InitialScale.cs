using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The amplitude of x₀ on the data's scale (Invoke-ApproxEm -FitInitialScale). The EM's E-step compares each patch with
/// A_{s,ω}x in absolute units, so an initial volume whose projections are far too weak (every patch looks empty) or far too
/// strong (no pose fits) starts it in the wrong place; real micrographs, normalised and whitened, have no natural unit, and a
/// start model from an atomic model or another map has its own. This finds the scalar a that maximises the log-likelihood
/// of the data under a·x₀: a scan over a = 2^k (k = −12..12), then a golden-section refinement of log a between the best
/// scan point's neighbours, each an E-step (likelihood only) on a seeded subset of at most
/// <see cref="MaximumPatches"/> patches and an evenly spaced subset of at most <see cref="MaximumRotations"/> rotations.
/// Deterministic for a seed; about 40 small E-steps, each split over the ranks of <c>world</c> when there are several.
/// </summary>
public static class InitialScale
{
    /// <summary>Patches scored per trial scale, at most.</summary>
    public const int MaximumPatches = 400;

    /// <summary>Rotations per trial scale, at most.</summary>
    public const int MaximumRotations = 300;

    /// <summary>The factor a for x₀ (1 when x₀ is zero).</summary>
    public static double Fit(ForwardModel forward, ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, double[] x0,
        PatchSet patches, double noiseVariance, double emptyProbability, int seed, int threads, CancellationToken token = default,
        Native.ICommunicator? world = null)
    {
        if (x0.All(value => value == 0))
        {
            return 1;
        }

        int count = Math.Min(MaximumPatches, patches.Count);
        var subset = ApproxEm.Minibatch(patches.Count, (double)count / patches.Count, seed, -5, 0);
        int step = Math.Max(1, rotations.Count / MaximumRotations);
        var some = rotations.Where((_, index) => index % step == 0).ToArray();
        var options = new EStepOptions { Threads = threads, LikelihoodOnly = true, Precision = EStepPrecision.Double };
        var shiftPrior = new ShiftPrior(forward, emptyProbability);
        var rotationPrior = new RotationPrior(some.Length);
        var scaled = new double[x0.Length];
        double LogLikelihood(double logScale)
        {
            double a = Math.Exp(logScale);
            for (int i = 0; i < x0.Length; i++)
            {
                scaled[i] = a * x0[i];
            }

            return ShardedEStep.RunAndScore(forward, model, some, scaled, patches, subset, null, noiseVariance, shiftPrior, rotationPrior,
                options, world ?? Native.SingleProcess.Instance, token).Result.LogLikelihood;
        }

        // The scan: a = 2^k.
        int best = 0;
        double bestValue = double.NegativeInfinity;
        for (int k = -12; k <= 12; k++)
        {
            double value = LogLikelihood(k * Math.Log(2));
            if (value > bestValue)
            {
                bestValue = value;
                best = k;
            }
        }

        // Golden-section search for the maximum of log a in [best − 1, best + 1] (in powers of 2).
        double golden = (Math.Sqrt(5) - 1) / 2;
        double low = (best - 1) * Math.Log(2), high = (best + 1) * Math.Log(2);
        double c = high - golden * (high - low), d = low + golden * (high - low);
        double fc = LogLikelihood(c), fd = LogLikelihood(d);
        for (int iteration = 0; iteration < 12; iteration++)
        {
            if (fc > fd)
            {
                high = d;
                d = c;
                fd = fc;
                c = high - golden * (high - low);
                fc = LogLikelihood(c);
            }
            else
            {
                low = c;
                c = d;
                fc = fd;
                d = low + golden * (high - low);
                fd = LogLikelihood(d);
            }
        }

        double refined = fc > fd ? c : d;
        return Math.Max(fc, fd) >= bestValue ? Math.Exp(refined) : Math.Pow(2, best);
    }
}
