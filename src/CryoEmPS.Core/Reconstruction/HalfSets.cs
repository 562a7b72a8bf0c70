using CryoEmPS.Core.Patches;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The gold-standard split of a patch set into two halves that share no particle (Scheres &amp; Chen 2012): reconstructed
/// independently, their FSC measures the resolution without the truth. With two or more micrographs whole micrographs go to
/// one half or the other (alternately in order, each to the half with fewer patches so far). With one micrograph the patch
/// grid is cut into a left and a right part by its columns, and the middle patch column is left out as a guard band: a
/// particle's L×L projection cannot reach across a whole patch width, so no particle touches both halves.
/// </summary>
public sealed class HalfSets
{
    private HalfSets(int[] first, int[] second, int guard, string rule)
    {
        First = first;
        Second = second;
        GuardCount = guard;
        Rule = rule;
    }

    /// <summary>Patch indices of half 1, ascending.</summary>
    public int[] First { get; }

    /// <summary>Patch indices of half 2, ascending.</summary>
    public int[] Second { get; }

    /// <summary>Patches in neither half (the guard band).</summary>
    public int GuardCount { get; }

    /// <summary>How the split was made, in words.</summary>
    public string Rule { get; }

    /// <summary>The split of <paramref name="patches"/> described on the class.</summary>
    public static HalfSets Split(PatchSet patches)
    {
        var origins = patches.Origins;
        var micrographs = origins.Select(o => o.Micrograph).Distinct().OrderBy(m => m).ToArray();
        if (micrographs.Length >= 2)
        {
            var counts = micrographs.ToDictionary(m => m, m => origins.Count(o => o.Micrograph == m));
            var inFirst = new HashSet<int>();
            long first = 0, second = 0;
            foreach (int micrograph in micrographs)
            {
                if (first <= second)
                {
                    inFirst.Add(micrograph);
                    first += counts[micrograph];
                }
                else
                {
                    second += counts[micrograph];
                }
            }

            return new HalfSets(Indices(origins, o => inFirst.Contains(o.Micrograph)),
                Indices(origins, o => !inFirst.Contains(o.Micrograph)), 0,
                $"by micrograph ({inFirst.Count} and {micrographs.Length - inFirst.Count} micrographs)");
        }

        var columns = origins.Select(o => o.Column).Distinct().OrderBy(c => c).ToArray();
        if (columns.Length < 3)
        {
            return new HalfSets(Array.Empty<int>(), Array.Empty<int>(), origins.Length,
                $"one micrograph with {columns.Length} patch column(s): too few to split with a guard column");
        }

        int guard = columns[columns.Length / 2];
        return new HalfSets(Indices(origins, o => o.Column < guard), Indices(origins, o => o.Column > guard),
            origins.Count(o => o.Column == guard), $"one micrograph cut at patch column x = {guard} (left out as the guard band)");
    }

    /// <summary>The same split without the patches in <paramref name="excluded"/> (held out of the reconstruction); null: this.</summary>
    public HalfSets Without(int[]? excluded)
    {
        if (excluded == null || excluded.Length == 0)
        {
            return this;
        }

        var set = new HashSet<int>(excluded);
        return new HalfSets(First.Where(i => !set.Contains(i)).ToArray(), Second.Where(i => !set.Contains(i)).ToArray(), GuardCount,
            $"{Rule}, without {excluded.Length} held-out patches");
    }

    private static int[] Indices(PatchOrigin[] origins, Func<PatchOrigin, bool> take)
        => Enumerable.Range(0, origins.Length).Where(i => take(origins[i])).ToArray();

    public override string ToString()
        => $"half-sets of {First.Length} and {Second.Length} patches ({GuardCount} left out), {Rule}";
}
