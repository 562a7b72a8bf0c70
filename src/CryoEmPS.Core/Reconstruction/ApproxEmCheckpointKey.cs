namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// What identifies an EM problem: a checkpoint from a different one is refused. The fingerprints are SHA-256 hex digests
/// (<see cref="Patches.PatchSet.Fingerprint"/>, <see cref="ApproxEmCheckpoint.KeyOf"/>).
/// </summary>
public sealed record ApproxEmCheckpointKey(string PatchFingerprint, int PatchCount, int PatchSize, int Seed, double NoiseVariance,
    double EmptyProbability, double PosteriorCutoff, int FftSize, string InitialHash, string Schedule)
{
    /// <summary>The first difference from <paramref name="other"/>, in words (null when they agree).</summary>
    public string? Difference(ApproxEmCheckpointKey other)
    {
        if (PatchFingerprint != other.PatchFingerprint || PatchCount != other.PatchCount)
        {
            return $"the patch set differs (fingerprint {Short(other.PatchFingerprint)}, {other.PatchCount} patches in the checkpoint; " +
                $"{Short(PatchFingerprint)}, {PatchCount} now)";
        }
        if (PatchSize != other.PatchSize)
        {
            return $"the patch size differs ({other.PatchSize} in the checkpoint, {PatchSize} now)";
        }
        if (Seed != other.Seed)
        {
            return $"the seed differs ({other.Seed} in the checkpoint, {Seed} now)";
        }
        if (!NoiseVariance.Equals(other.NoiseVariance))
        {
            return $"σ² differs ({other.NoiseVariance:R} in the checkpoint, {NoiseVariance:R} now)";
        }
        if (!EmptyProbability.Equals(other.EmptyProbability))
        {
            return $"v₀ differs ({other.EmptyProbability:R} in the checkpoint, {EmptyProbability:R} now)";
        }
        if (!PosteriorCutoff.Equals(other.PosteriorCutoff))
        {
            return "the posterior cutoff differs";
        }
        if (FftSize != other.FftSize)
        {
            return "the FFT size differs";
        }
        if (Schedule != other.Schedule)
        {
            return $"the schedule differs (checkpoint: {other.Schedule}; now: {Schedule})";
        }
        if (InitialHash != other.InitialHash)
        {
            return "the initial volume differs";
        }
        return null;
    }

    private static string Short(string fingerprint) => fingerprint.Length > 16 ? fingerprint[..16] + "…" : fingerprint;
}
