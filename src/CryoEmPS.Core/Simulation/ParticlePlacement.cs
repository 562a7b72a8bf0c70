namespace CryoEmPS.Core.Simulation;

/// <summary>
/// Random sequential adsorption (RSA) of L×L projections in a micrograph. A position is the top-left
/// corner (row, col). Two projections conflict when both |Δrow| and |Δcol| are below the exclusion
/// distance D: D = 2L − 1 for <see cref="ParticleSpacing.WellSeparated"/> (eq. 5 as the paper uses it:
/// boxes of side 2L − 1 anchored at the corners never overlap, so every L×L window holds at most one
/// projection) and D = L for <see cref="ParticleSpacing.Arbitrary"/> (the L×L boxes do not overlap).
/// Positions are drawn uniformly among the still-free anchors; when random tries start failing the
/// remaining free anchors are enumerated exactly (2-D prefix sums over the placed corners) and
/// sampled uniformly, so placement runs all the way to jamming when needed.
/// </summary>
public static class ParticlePlacement
{
    /// <summary>Consecutive failed random tries after which the free anchors are enumerated.</summary>
    public const int FailuresBeforeEnumeration = 64;

    /// <summary>The exclusion distance D for a spacing.</summary>
    public static int ExclusionDistance(int particleSize, ParticleSpacing spacing)
        => spacing == ParticleSpacing.WellSeparated ? 2 * particleSize - 1 : particleSize;

    /// <summary>
    /// An upper bound on how many projections any placement can hold with anchors in [lo, hi]² :
    /// ceil((hi − lo + 1)/D)² (at most one anchor per D×D cell of the anchor range).
    /// </summary>
    public static long MaxCount(int lo, int hi, int particleSize, ParticleSpacing spacing)
    {
        if (hi < lo) return 0;
        long d = ExclusionDistance(particleSize, spacing);
        long per = (hi - lo + 1 + d - 1) / d;
        return per * per;
    }

    /// <summary>
    /// Places up to <paramref name="count"/> anchors with rows and columns in [lo, hi] (inclusive),
    /// in placement order. Returns fewer when the micrograph jams first.
    /// </summary>
    public static List<(int Row, int Column)> Place(int lo, int hi, int particleSize, ParticleSpacing spacing, int count, Random rng, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (particleSize <= 0) throw new ArgumentOutOfRangeException(nameof(particleSize));
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var placed = new List<(int, int)>(Math.Min(count, 1 << 20));
        if (hi < lo || count == 0) return placed;
        int d = ExclusionDistance(particleSize, spacing);
        int w = hi - lo + 1;                       // anchor range width
        // Spatial hash: cells of side d; a conflict can only come from the 3×3 neighbouring cells.
        int cells = (w + d - 1) / d;
        var cellHead = new int[cells * cells];
        Array.Fill(cellHead, -1);
        var next = new List<int>();
        var rows = new List<int>();
        var cols = new List<int>();

        bool Conflicts(int r, int c)
        {
            int cr = (r - lo) / d, cc = (c - lo) / d;
            for (int i = Math.Max(0, cr - 1); i <= Math.Min(cells - 1, cr + 1); i++)
                for (int j = Math.Max(0, cc - 1); j <= Math.Min(cells - 1, cc + 1); j++)
                    for (int p = cellHead[i * cells + j]; p >= 0; p = next[p])
                        if (Math.Abs(rows[p] - r) < d && Math.Abs(cols[p] - c) < d) return true;
            return false;
        }
        void Add(int r, int c)
        {
            int cell = ((r - lo) / d) * cells + (c - lo) / d;
            rows.Add(r); cols.Add(c); next.Add(cellHead[cell]);
            cellHead[cell] = rows.Count - 1;
            placed.Add((r, c));
        }

        // Phase 1: random tries.
        int failures = 0;
        while (placed.Count < count && failures < FailuresBeforeEnumeration)
        {
            if ((placed.Count & 255) == 0) cancellationToken.ThrowIfCancellationRequested();
            int r = lo + rng.Next(w), c = lo + rng.Next(w);
            if (Conflicts(r, c)) { failures++; continue; }
            failures = 0;
            Add(r, c);
        }
        if (placed.Count >= count) return placed;

        // Phase 2: enumerate the free anchors exactly. occ = indicator of placed anchors on the w×w grid,
        // S its 2-D prefix sums; anchor (r, c) is free when no placed anchor lies within ±(d − 1).
        cancellationToken.ThrowIfCancellationRequested();
        var free = new bool[(long)w * w];
        var freeList = new List<int>();
        {
            var s = new int[(long)(w + 1) * (w + 1)];
            foreach (var (r, c) in placed) s[(long)(r - lo + 1) * (w + 1) + (c - lo + 1)] = 1;
            for (int i = 1; i <= w; i++)
            {
                long row = (long)i * (w + 1), prev = (long)(i - 1) * (w + 1);
                for (int j = 1; j <= w; j++)
                    s[row + j] += s[row + j - 1] + s[prev + j] - s[prev + j - 1];
            }
            for (int i = 0; i < w; i++)
            {
                int r0 = Math.Max(0, i - d + 1), r1 = Math.Min(w - 1, i + d - 1);
                for (int j = 0; j < w; j++)
                {
                    int c0 = Math.Max(0, j - d + 1), c1 = Math.Min(w - 1, j + d - 1);
                    int n = s[(long)(r1 + 1) * (w + 1) + c1 + 1] - s[(long)r0 * (w + 1) + c1 + 1] - s[(long)(r1 + 1) * (w + 1) + c0] + s[(long)r0 * (w + 1) + c0];
                    if (n == 0) { free[(long)i * w + j] = true; freeList.Add(i * w + j); }
                }
            }
        }
        // Sample uniformly among the free anchors; entries made stale by later placements are removed
        // when drawn (swap-remove), which keeps the draw uniform over the anchors that are still free.
        while (placed.Count < count && freeList.Count > 0)
        {
            if ((placed.Count & 63) == 0) cancellationToken.ThrowIfCancellationRequested();
            int k = rng.Next(freeList.Count);
            int idx = freeList[k];
            freeList[k] = freeList[^1];
            freeList.RemoveAt(freeList.Count - 1);
            if (!free[idx]) continue;
            int i = idx / w, j = idx % w;
            Add(i + lo, j + lo);
            for (int a = Math.Max(0, i - d + 1); a <= Math.Min(w - 1, i + d - 1); a++)
                for (int b = Math.Max(0, j - d + 1); b <= Math.Min(w - 1, j + d - 1); b++)
                    free[(long)a * w + b] = false;
        }
        return placed;
    }
}
