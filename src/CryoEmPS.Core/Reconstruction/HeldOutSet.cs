namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// Patches held out of every M-step: their log-likelihood under each iterate (x, σ², v) measures how well the map predicts data
/// it was not fitted to, a criterion that needs neither the truth nor half-sets. A map that fits noise gains likelihood on the
/// patches it was fitted to and loses it on these. The held-out pixels are disjoint from the fitted ones, so their noise is
/// independent of the fit; a particle cut by both kinds of patch shares only its signal, which is what the criterion rewards.
/// </summary>
public static class HeldOutSet
{
    /// <summary>
    /// ⌊f·P⌋ patch indices (ascending), drawn without replacement as a minibatch is (<see cref="ApproxEm.Minibatch"/>), from a
    /// generator seeded by (<paramref name="seed"/>, −4, 0); empty when ⌊f·P⌋ = 0.
    /// </summary>
    public static int[] Choose(int patchCount, double fraction, int seed)
        => (int)Math.Floor(fraction * patchCount) < 1 ? Array.Empty<int>() : ApproxEm.Minibatch(patchCount, fraction, seed, -4, 0);

    /// <summary>The indices 0..P−1 that are not in <paramref name="heldOut"/> (ascending).</summary>
    public static int[] Rest(int patchCount, int[]? heldOut)
    {
        if (heldOut == null || heldOut.Length == 0)
        {
            return Enumerable.Range(0, patchCount).ToArray();
        }

        var set = new HashSet<int>(heldOut);
        return Enumerable.Range(0, patchCount).Where(i => !set.Contains(i)).ToArray();
    }
}
