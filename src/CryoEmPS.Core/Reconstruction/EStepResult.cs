namespace CryoEmPS.Core.Reconstruction;

/// <summary>What one E-step produced: the minibatch log-likelihood, the new v (eq. 31), and the sufficient
/// statistics the M-step needs (never per-patch A matrices).</summary>
public sealed class EStepResult
{
    internal EStepResult(int l, int k, int[] patches, double[] patchLogLikelihood, double emptyPosterior, double[] backProjection,
        double[] pixelWeight, double[] shiftWeight, long pairs, long skipped)
    {
        ImageSize = l;
        BoxSize = l;
        RotationCount = k;
        Patches = patches;
        PatchLogLikelihood = patchLogLikelihood;
        EmptyPosterior = emptyPosterior;
        BackProjection = backProjection;
        PixelWeight = pixelWeight;
        ShiftWeight = shiftWeight;
        PairCount = pairs;
        SkippedPairs = skipped;
        double sum = 0;
        foreach (var value in patchLogLikelihood)
        {
            sum += value;
        }

        LogLikelihood = sum;
    }

    /// <summary>L, the patch side.</summary>
    public int ImageSize { get; }
    /// <summary>B, the side of the forward model's (filtered) projection box on which b_ω and m_ω live (L without a filter).</summary>
    public int BoxSize { get; internal init; }
    public int RotationCount { get; }
    /// <summary>The minibatch (patch indices into the PatchSet), ascending.</summary>
    public int[] Patches { get; }
    /// <summary>log p(I_q; x, ρ) = log Σ_{s,ω} (ρ[s]/K)·N(I_q; A_{s,ω}x, σ²I), full Gaussian normalisation, per minibatch patch.</summary>
    public double[] PatchLogLikelihood { get; }
    /// <summary>Σ_q of <see cref="PatchLogLikelihood"/> (summed in patch order).</summary>
    public double LogLikelihood { get; }
    public double LogLikelihoodPerPatch => LogLikelihood / Patches.Length;
    /// <summary>Eq. (31) with posteriors: the mean over the minibatch of the posterior probability that the patch is empty.</summary>
    public double EmptyPosterior { get; }
    /// <summary>b_ω = Σ_q Σ_s w_{q,s,ω}·(C T_s Z)ᵀ I_q, [rotation, y, x] (K·B·B; B = L without a filter).</summary>
    public double[] BackProjection { get; }
    /// <summary>m_ω = Σ_s W[s,ω]·mask_s, the weight each projection pixel carries, [rotation, y, x] (K·B·B).</summary>
    public double[] PixelWeight { get; }
    /// <summary>W[s,ω] = Σ_q w_{q,s,ω} over the (B+L−1)² non-empty lags ((2L−1)² without a filter), [rotation, d_y+L−1, d_x+L−1].</summary>
    public double[] ShiftWeight { get; }
    /// <summary>
    /// (patch, rotation) pairs in the minibatch, and how many the M-step pass skipped (exactly zero posterior, or below the opt-in cutoff).
    /// </summary>
    public long PairCount { get; }
    public long SkippedPairs { get; }
    /// <summary>
    /// Diagnostics: wall seconds of the phases — projections and FFTs of the inputs, likelihoods (one correlation FFT per pair), statistics
    /// (one back-projection FFT per kept pair), finishing.
    /// </summary>
    public double[] PhaseSeconds { get; internal init; } = new double[4];
    /// <summary>The arithmetic this E-step used (never Auto).</summary>
    public EStepPrecision Precision { get; internal init; } = EStepPrecision.Double;
}
