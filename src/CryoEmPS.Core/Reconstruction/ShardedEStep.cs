using CryoEmPS.Core.Native;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The E-step spread over the processes of a <see cref="ICommunicator"/> (issue 13): each rank scores a contiguous share of
/// the E-step's patches (<see cref="Share"/>), and <see cref="Reduce"/> adds the ranks' statistics in rank order, so that
/// every rank holds the E-step of all the patches: per-patch log-likelihoods in their places, the sums C and y are built
/// from (back-projections and pixel weights), the empty posterior, the pair counts, per filter group. The shift weights
/// W[s,ω] (K·(B+L−1)² values, two thirds of the bytes) are not summed: nothing in the EM reads them (m_ω already holds
/// them), so a split E-step returns them empty.
/// One process: <see cref="Share"/> is everything and <see cref="Reduce"/> is never called.
/// </summary>
internal static class ShardedEStep
{
    /// <summary>True when the E-step of <paramref name="count"/> patches is split: several ranks, and a patch for each.</summary>
    public static bool Splits(ICommunicator world, int count) => world.Size > 1 && count >= world.Size;

    /// <summary>This rank's share of <paramref name="all"/> (ascending patch indices): the contiguous run ⌊n·r/P⌋ … ⌊n·(r+1)/P⌋ − 1.</summary>
    public static int[] Share(int[] all, ICommunicator world)
    {
        long n = all.Length;
        int start = (int)(n * world.Rank / world.Size), end = (int)(n * (world.Rank + 1) / world.Size);
        return all[start..end];
    }

    /// <summary>
    /// The E-step of <paramref name="all"/> on every rank from each rank's <paramref name="local"/> E-step of its
    /// <see cref="Share"/>: one sum over the ranks (in rank order) of every filter group's arrays and counts.
    /// </summary>
    public static EStepResult Reduce(EStepResult local, int[] all, ForwardModel forward, PatchSet patches, ICommunicator world)
    {
        var groupPatches = EStep.GroupMinibatch(forward, patches, all);
        var mine = local.Groups.ToDictionary(group => group.FilterGroup);
        var template = local.Groups[0];
        int backLength = template.BackProjection.Length, pixelLength = template.PixelWeight.Length;
        int secondsLength = template.PhaseSeconds.Length;
        const int Counts = 3; // Σ empty posterior, pairs, skipped pairs
        var present = Enumerable.Range(0, groupPatches.Length).Where(g => groupPatches[g].Length > 0).ToArray();
        long length = present.Sum(g => (long)backLength + pixelLength + secondsLength + Counts + groupPatches[g].Length);
        var payload = new double[length];
        long offset = 0;
        foreach (int g in present)
        {
            if (mine.TryGetValue(g, out var part))
            {
                if (part.BackProjection.Length != backLength || part.PixelWeight.Length != pixelLength)
                {
                    throw new InvalidOperationException("The filter groups' E-step statistics differ in shape; they cannot be reduced together.");
                }

                Array.Copy(part.BackProjection, 0, payload, offset, backLength);
                Array.Copy(part.PixelWeight, 0, payload, offset + backLength, pixelLength);
                Array.Copy(part.PhaseSeconds, 0, payload, offset + backLength + pixelLength, secondsLength);
                long counts = offset + backLength + pixelLength + secondsLength;
                payload[counts] = part.EmptyPosterior * part.Patches.Length;
                payload[counts + 1] = part.PairCount;
                payload[counts + 2] = part.SkippedPairs;
                int position = 0;
                var slots = groupPatches[g];
                for (int j = 0; j < part.Patches.Length; j++)
                {
                    while (slots[position] != part.Patches[j])
                    {
                        position++;
                    }

                    payload[counts + Counts + position] = part.PatchLogLikelihood[j];
                }
            }

            offset += backLength + pixelLength + secondsLength + Counts + groupPatches[g].Length;
        }

        world.SumInPlace(payload);
        var results = new List<EStepResult>();
        offset = 0;
        foreach (int g in present)
        {
            var slots = groupPatches[g];
            long counts = offset + backLength + pixelLength + secondsLength;
            var result = new EStepResult(template.ImageSize, template.RotationCount, (int[])slots.Clone(),
                payload.AsSpan((int)(counts + Counts), slots.Length).ToArray(), payload[counts] / slots.Length,
                payload.AsSpan((int)offset, backLength).ToArray(), payload.AsSpan((int)(offset + backLength), pixelLength).ToArray(),
                Array.Empty<double>(), (long)payload[counts + 1], (long)payload[counts + 2])
            {
                BoxSize = template.BoxSize,
                PhaseSeconds = payload.AsSpan((int)(offset + backLength + pixelLength), secondsLength).ToArray(),
                Precision = template.Precision,
                FilterGroup = g,
                Filtered = !forward.Filters[g].IsIdentity,
            };
            results.Add(result);
            offset = counts + Counts + slots.Length;
        }

        return results.Count == 1 ? results[0] : EStepResult.Merge(all, results);
    }
}
