using CryoEmPS.Core.Native;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The E-step spread over the processes of a <see cref="ICommunicator"/> (issue 13): each rank scores a contiguous share of
/// the E-step's patches (<see cref="Share"/>), and <see cref="Reduce"/> adds the ranks' statistics in rank order, so that
/// every rank holds the E-step of all the patches: per-patch log-likelihoods in their places, the sums C and y are built
/// from (back-projections and pixel weights), the empty posterior, the pair counts, per filter group. The shift weights
/// W[s,ω] (K·(B+L−1)² values, two thirds of the bytes) are not summed: nothing in the EM reads them (m_ω already holds
/// them), so a split E-step returns them empty.
/// One process: <see cref="Share"/> is everything and <see cref="Reduce"/> is never called. A rank whose share is empty (its
/// patches are none of this minibatch) takes part with zeros.
/// </summary>
internal static class ShardedEStep
{
    /// <summary>
    /// The E-step of <paramref name="minibatch"/> (and the scores of <paramref name="scoreOnly"/>, as
    /// <see cref="EStep.RunAndScore"/>) on every rank of <paramref name="world"/>: split over the ranks where <see cref="Splits"/>,
    /// each rank scoring its <see cref="Share"/> and <see cref="Reduce"/> adding the ranks' statistics; one process: the E-step.
    /// </summary>
    public static (EStepResult Result, EStepResult? Score) RunAndScore(ForwardModel forward, ILinearProjectionModel model,
        IReadOnlyList<Rotation> rotations, double[] x, PatchSet patches, int[] minibatch, int[]? scoreOnly, double noiseVariance,
        ShiftPrior shiftPrior, RotationPrior rotationPrior, EStepOptions options, ICommunicator world, CancellationToken token)
    {
        bool split = Splits(world, minibatch.Length, patches);
        bool splitScore = scoreOnly != null && Splits(world, scoreOnly.Length, patches);
        // Nothing to score anywhere: no score E-step (a split one runs on every rank, even one whose share is empty).
        var toScore = splitScore ? Share(scoreOnly!, world, patches) : scoreOnly is { Length: > 0 } ? scoreOnly : null;
        var (result, score) = EStep.RunAndScore(forward, model, rotations, x, patches, split ? Share(minibatch, world, patches) : minibatch,
            toScore, noiseVariance, shiftPrior, rotationPrior, split || splitScore ? options.On(world) : options, token);
        return (split ? Reduce(result, minibatch, forward, patches, world) : result,
            splitScore ? Reduce(score!, scoreOnly!, forward, patches, world) : score);
    }

    /// <summary>
    /// True when the E-step of <paramref name="count"/> patches is split: several ranks and a patch to score, and either a patch
    /// for each rank or a patch set whose pixels are spread over the ranks (which only a split E-step can score).
    /// </summary>
    public static bool Splits(ICommunicator world, int count, PatchSet patches)
        => world.Size > 1 && count > 0 && (count >= world.Size || !patches.HoldsAll);

    /// <summary>
    /// This rank's share of <paramref name="all"/> (ascending patch indices): the contiguous run ⌊n·r/P⌋ … ⌊n·(r+1)/P⌋ − 1, or,
    /// when the ranks hold the pixels of different patches (<see cref="PatchSet.HoldsAll"/> false), the patches this rank holds
    /// (possibly none).
    /// </summary>
    public static int[] Share(int[] all, ICommunicator world, PatchSet patches)
    {
        if (!patches.HoldsAll)
        {
            return all.Where(patches.Holds).ToArray();
        }

        var (start, end) = RankShare.Of(world).Range(all.Length);
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
        int back = template.BackProjection.Length, pixel = template.PixelWeight.Length, seconds = template.PhaseSeconds.Length;
        // One slot per group with patches, in group order: b_ω | m_ω | phase seconds | Σ empty posterior, pairs, skipped pairs |
        // the per-patch log-likelihoods, then the per-patch empty posteriors, each in the group's patch order (each rank fills its
        // own, zeros elsewhere).
        int counts = back + pixel + seconds, head = counts + 3;
        var present = Enumerable.Range(0, groupPatches.Length).Where(g => groupPatches[g].Length > 0).ToArray();
        var start = new int[present.Length + 1];
        for (int i = 0; i < present.Length; i++)
        {
            start[i + 1] = start[i] + head + 2 * groupPatches[present[i]].Length;
        }

        var payload = new double[start[^1]];
        for (int i = 0; i < present.Length; i++)
        {
            if (!mine.TryGetValue(present[i], out var part))
            {
                continue;
            }

            if (part.BackProjection.Length != back || part.PixelWeight.Length != pixel)
            {
                throw new InvalidOperationException("The filter groups' E-step statistics differ in shape; they cannot be reduced together.");
            }

            var slot = payload.AsSpan(start[i], start[i + 1] - start[i]);
            part.BackProjection.CopyTo(slot);
            part.PixelWeight.CopyTo(slot[back..]);
            part.PhaseSeconds.CopyTo(slot[(back + pixel)..]);
            slot[counts] = part.EmptyPosterior * part.Patches.Length;
            slot[counts + 1] = part.PairCount;
            slot[counts + 2] = part.SkippedPairs;
            var order = groupPatches[present[i]];
            for (int j = 0, position = 0; j < part.Patches.Length; j++)
            {
                while (order[position] != part.Patches[j])
                {
                    position++;
                }

                slot[head + position] = part.PatchLogLikelihood[j];
                slot[head + order.Length + position] = part.PatchEmptyPosterior[j];
            }
        }

        world.SumInPlace(payload);
        var results = new EStepResult[present.Length];
        for (int i = 0; i < present.Length; i++)
        {
            int g = present[i];
            var order = groupPatches[g];
            var slot = payload.AsSpan(start[i], start[i + 1] - start[i]);
            results[i] = new EStepResult(template.ImageSize, template.RotationCount, (int[])order.Clone(), slot.Slice(head, order.Length).ToArray(),
                slot[counts] / order.Length, slot[..back].ToArray(), slot.Slice(back, pixel).ToArray(), Array.Empty<double>(),
                (long)slot[counts + 1], (long)slot[counts + 2])
            {
                BoxSize = template.BoxSize,
                PatchEmptyPosterior = slot.Slice(head + order.Length, order.Length).ToArray(),
                PhaseSeconds = slot.Slice(back + pixel, seconds).ToArray(),
                Precision = template.Precision,
                FilterGroup = g,
                Filtered = !forward.Filters[g].IsIdentity,
            };
        }

        return results.Length == 1 ? results[0] : EStepResult.Merge(all, results);
    }
}
