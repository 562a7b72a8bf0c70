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
    /// <summary>
    /// Per minibatch patch (in <see cref="Patches"/> order): the posterior probability that the patch is empty, v·N(I_q; 0, σ²I) / p(I_q).
    /// </summary>
    public double[] PatchEmptyPosterior { get; internal init; } = Array.Empty<double>();
    /// <summary>b_ω = Σ_q Σ_s w_{q,s,ω}·(C T_s Z)ᵀ I_q, [rotation, y, x] (K·B·B; B = L without a filter).</summary>
    public double[] BackProjection { get; }
    /// <summary>m_ω = Σ_s W[s,ω]·mask_s, the weight each projection pixel carries, [rotation, y, x] (K·B·B).</summary>
    public double[] PixelWeight { get; }
    /// <summary>
    /// W[s,ω] = Σ_q w_{q,s,ω} over the (B+L−1)² non-empty lags ((2L−1)² without a filter), [rotation, d_y+L−1, d_x+L−1]; a
    /// diagnostic (the M-step reads <see cref="PixelWeight"/>): empty after an E-step split over MPI ranks (ShardedEStep).
    /// </summary>
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

    /// <summary>The forward model's filter group of these statistics (0 with one group; −1 for a merge of several groups).</summary>
    public int FilterGroup { get; internal set; }

    /// <summary>True when some patch was scored through a filter other than the identity (the M-step then needs the filter).</summary>
    public bool Filtered { get; internal set; }

    /// <summary>
    /// The statistics of each filter group, in group order, each over that group's patches. One group (no filter, or the same
    /// filter everywhere): just this result. Several groups: this result holds the patch log-likelihoods in minibatch order,
    /// the empty posterior over all patches, and b_ω, m_ω and W[s,ω] summed over the groups; the M-step of a filtered model
    /// needs them per group (see MStep).
    /// </summary>
    public IReadOnlyList<EStepResult> Groups => _groups ?? new[] { this };

    private IReadOnlyList<EStepResult>? _groups;

    /// <summary>The E-step of a minibatch split over several filter groups: per-patch values back in minibatch order, sums over groups in group order.</summary>
    internal static EStepResult Merge(int[] minibatch, IReadOnlyList<EStepResult> groups)
    {
        var merged = Sum(minibatch, groups);
        merged.FilterGroup = -1;
        merged._groups = groups.ToArray();
        return merged;
    }

    /// <summary>
    /// The statistics of disjoint patch sets added (incremental EM: the blocks of a partition, each from the last time it was
    /// visited): per-patch values in <paramref name="patches"/> order, sums in part order, the empty posterior averaged over
    /// all patches.
    /// </summary>
    internal static EStepResult Sum(int[] patches, IReadOnlyList<EStepResult> parts)
    {
        var first = parts[0];
        var position = new Dictionary<int, int>(patches.Length);
        for (int j = 0; j < patches.Length; j++)
        {
            position[patches[j]] = j;
        }

        var logLikelihood = new double[patches.Length];
        var empty = new double[patches.Length];
        double emptySum = 0;
        long pairs = 0, skipped = 0;
        var back = new double[first.BackProjection.Length];
        var pixel = new double[first.PixelWeight.Length];
        // W[s,ω] only when every part has it (an E-step split over ranks returns it empty).
        var shift = parts.All(part => part.ShiftWeight.Length == first.ShiftWeight.Length)
            ? new double[first.ShiftWeight.Length]
            : Array.Empty<double>();
        var seconds = new double[first.PhaseSeconds.Length];
        foreach (var part in parts)
        {
            for (int j = 0; j < part.Patches.Length; j++)
            {
                logLikelihood[position[part.Patches[j]]] = part.PatchLogLikelihood[j];
                empty[position[part.Patches[j]]] = part.PatchEmptyPosterior[j];
            }

            emptySum += part.EmptyPosterior * part.Patches.Length;
            pairs += part.PairCount;
            skipped += part.SkippedPairs;
            Accumulate(back, part.BackProjection);
            Accumulate(pixel, part.PixelWeight);
            if (shift.Length > 0)
            {
                Accumulate(shift, part.ShiftWeight);
            }
            Accumulate(seconds, part.PhaseSeconds);
        }

        return new EStepResult(first.ImageSize, first.RotationCount, (int[])patches.Clone(), logLikelihood, emptySum / patches.Length,
            back, pixel, shift, pairs, skipped)
        {
            BoxSize = first.BoxSize,
            PatchEmptyPosterior = empty,
            PhaseSeconds = seconds,
            Precision = first.Precision,
            FilterGroup = first.FilterGroup,
            Filtered = parts.Any(part => part.Filtered),
        };
    }

    private static void Accumulate(double[] sum, double[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            sum[i] += values[i];
        }
    }
}
