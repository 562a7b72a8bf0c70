using CryoEmPS.Core.Native;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Core.Patches;

/// <summary>
/// The observed data of the approximate EM (Section 3.1): P non-overlapping L×L patches cut from one or
/// more micrographs, stored as one array [patch, y, x] (x fastest).
/// Under MPI a patch set may hold the pixels of only some of its patches (<see cref="HoldsAll"/> false; the ranks' shares
/// joined by <see cref="PatchSetShares.Join"/>): every rank then knows every patch's origin, content and micrograph, but
/// <see cref="Data"/> holds only its own patches, and <see cref="Patch"/> reads only those.
/// </summary>
public sealed class PatchSet
{
    public PatchSet(int patchSize, double[] data, PatchOrigin[] origins, PatchContent[]? content = null, double noiseVariance = double.NaN,
        IReadOnlyList<string>? micrographNames = null, double pixelSize = 0, int[]? held = null)
    {
        if (patchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(patchSize));
        }
        int l2 = patchSize * patchSize;
        if (held != null)
        {
            _slot = new int[origins.Length];
            Array.Fill(_slot, -1);
            for (int i = 0; i < held.Length; i++)
            {
                if (held[i] < 0 || held[i] >= origins.Length || (i > 0 && held[i] <= held[i - 1]))
                {
                    throw new ArgumentException("The held patches must be ascending indices of the patch set.", nameof(held));
                }

                _slot[held[i]] = i;
            }
        }

        if (data.Length != (long)(held?.Length ?? origins.Length) * l2)
        {
            throw new ArgumentException("Patch data length does not match the patch count and size.", nameof(data));
        }
        if (content != null && content.Length != origins.Length)
        {
            throw new ArgumentException("One content entry per patch is needed.", nameof(content));
        }
        PatchSize = patchSize;
        Data = data;
        Origins = origins;
        Content = content ?? new PatchContent[origins.Length];
        NoiseVariance = noiseVariance;
        MicrographNames = micrographNames?.ToArray() ?? Array.Empty<string>();
        PixelSize = double.IsFinite(pixelSize) && pixelSize > 0 ? pixelSize : 0;
        MicrographIndexCount = origins.Length == 0 ? 0 : origins.Max(origin => origin.Micrograph) + 1;
    }

    // Where each patch's pixels are in Data (−1: on another rank); null when Data holds every patch.
    private readonly int[]? _slot;

    /// <summary>L, the side of each patch.</summary>
    public int PatchSize { get; }
    public int Count => Origins.Length;
    /// <summary>Patch values [patch, y, x]: every patch's, or with <see cref="HoldsAll"/> false the held ones' in index order.</summary>
    public double[] Data { get; }

    /// <summary>True when <see cref="Data"/> holds every patch (always, except a joined MPI share).</summary>
    public bool HoldsAll => _slot == null;

    /// <summary>How many patches' pixels this process holds (<see cref="Count"/> when <see cref="HoldsAll"/>).</summary>
    public int HeldCount => Data.Length / (PatchSize * PatchSize);

    /// <summary>True when this process holds patch <paramref name="q"/>'s pixels.</summary>
    public bool Holds(int q) => _slot == null || _slot[q] >= 0;

    /// <summary>
    /// Set on the patch set Get-PatchSet cuts from one rank's share of the micrographs (Import-Micrograph -RankShare): it is
    /// that rank's part of the data set, to be joined with the other ranks' (<see cref="PatchSetShares.Join"/>). Null otherwise.
    /// </summary>
    public RankShare? RankShare { get; init; }
    public PatchOrigin[] Origins { get; }
    public PatchContent[] Content { get; }
    /// <summary>σ² carried from the micrographs (NaN when they did not carry one, or disagreed).</summary>
    public double NoiseVariance { get; }
    public string[] MicrographNames { get; }
    /// <summary>Å per pixel carried from the micrographs (0 when unknown or when they disagree); the EM's volume gets it.</summary>
    public double PixelSize { get; }
    public int MicrographCount => MicrographNames.Length;

    /// <summary>
    /// How many micrograph indices the patches use: the highest <see cref="PatchOrigin.Micrograph"/> + 1 (0 without patches).
    /// Equal to <see cref="MicrographCount"/> for a set from Get-PatchSet; a set built without names still numbers its micrographs.
    /// </summary>
    public int MicrographIndexCount { get; }

    /// <summary>
    /// Each micrograph's CTF (by micrograph index, as in <see cref="PatchOrigin.Micrograph"/>; null where it has none), or empty
    /// when no micrograph had one. Invoke-ApproxEm builds its forward model's filters from these and <see cref="Whitenings"/>.
    /// </summary>
    public Ctf?[] Ctfs { get; init; } = Array.Empty<Ctf?>();

    /// <summary>Each micrograph's whitening spectrum (null where it was not whitened), or empty when none was.</summary>
    public NoiseSpectrum?[] Whitenings { get; init; } = Array.Empty<NoiseSpectrum?>();

    /// <summary>Each micrograph's <see cref="Simulation.Micrograph.SignalScale"/>, or empty when every one is 1.</summary>
    public double[] SignalScales { get; init; } = Array.Empty<double>();

    /// <summary>
    /// True when some micrograph has a CTF, was whitened or had its signal scaled: the EM then needs a filtered forward model.
    /// </summary>
    public bool Filtered => Ctfs.Any(ctf => ctf != null) || Whitenings.Any(spectrum => spectrum != null) || SignalScales.Any(scale => scale != 1);

    /// <summary>Patch <paramref name="q"/>'s L² values; it must be held here (<see cref="Holds"/>).</summary>
    public ReadOnlySpan<double> Patch(int q)
    {
        int slot = _slot == null ? q : _slot[q];
        if (slot < 0)
        {
            throw new InvalidOperationException($"Patch {q} is held by another rank; this rank holds {HeldCount} of the {Count} patches.");
        }

        return Data.AsSpan(slot * PatchSize * PatchSize, PatchSize * PatchSize);
    }

    public int EmptyCount => Content.Count(c => c == PatchContent.Empty);
    public int WholeCount => Content.Count(c => c == PatchContent.Whole);
    public int PartialCount => Content.Count(c => c == PatchContent.Partial);
    public int MultipleCount => Content.Count(c => c == PatchContent.Multiple);
    public bool ContentKnown => Content.Length > 0 && Content.All(c => c != PatchContent.Unknown);

    /// <summary>
    /// The SHA-256 fingerprint of the patch set (checkpoints compare it): <see cref="CombineFingerprints"/> of L, the patch count
    /// and the <see cref="MicrographDigest"/> of every micrograph in index order. Any change of a value changes it, a sign flip
    /// (contrast inversion) included. A joined MPI share (<see cref="HoldsAll"/> false) needs its <paramref name="world"/>: each
    /// rank digests the micrographs it holds, and one sum over the ranks gathers the digests, so that no rank needs all the data
    /// and the fingerprint is the one a single process holding every patch computes (a checkpoint resumes on any rank count).
    /// </summary>
    public string Fingerprint(ICommunicator? world = null)
    {
        int micrographs = MicrographIndexCount;
        var digests = new byte[micrographs][];
        if (HoldsAll)
        {
            for (int m = 0; m < micrographs; m++)
            {
                digests[m] = MicrographDigest(m);
            }

            return CombineFingerprints(PatchSize, Count, digests);
        }

        if (world == null || world.Size < 2)
        {
            throw new InvalidOperationException("This patch set holds only some patches (an MPI share); its fingerprint needs the ranks.");
        }

        // Each held micrograph's 32 digest bytes in its own slots (every micrograph is held by exactly one rank; zeros elsewhere),
        // added over the ranks: exact, since each slot gets one non-zero term.
        const int width = 32;
        var gathered = new double[micrographs * width];
        var first = new int[micrographs];
        Array.Fill(first, -1);
        for (int q = Count - 1; q >= 0; q--)
        {
            first[Origins[q].Micrograph] = q;
        }

        for (int m = 0; m < micrographs; m++)
        {
            // A micrograph without patches has the digest of L alone: rank 0 adds it.
            if (first[m] >= 0 ? Holds(first[m]) : world.Rank == 0)
            {
                var digest = MicrographDigest(m);
                for (int b = 0; b < width; b++)
                {
                    gathered[m * width + b] = digest[b];
                }
            }
        }

        world.SumInPlace(gathered);
        for (int m = 0; m < micrographs; m++)
        {
            digests[m] = new byte[width];
            for (int b = 0; b < width; b++)
            {
                digests[m][b] = (byte)gathered[m * width + b];
            }
        }

        return CombineFingerprints(PatchSize, Count, digests);
    }

    /// <summary>
    /// SHA-256 of the patches of micrograph <paramref name="micrograph"/>, in their order here: L, then per patch its row, column
    /// and L² values (canonical bytes, <see cref="ContentHash"/>). A rank that holds only some micrographs computes their digests.
    /// </summary>
    public byte[] MicrographDigest(int micrograph)
    {
        using var hash = new ContentHash("CryoEmPS.PatchSet.Micrograph/1").Add(PatchSize);
        for (int q = 0; q < Count; q++)
        {
            if (Origins[q].Micrograph == micrograph)
            {
                hash.Add(Origins[q].Row).Add(Origins[q].Column).Add(Patch(q));
            }
        }
        return hash.FinishBytes();
    }

    /// <summary>The patch-set fingerprint from the per-micrograph digests, combined in micrograph order (64 hex digits).</summary>
    public static string CombineFingerprints(int patchSize, int patchCount, IReadOnlyList<byte[]> micrographDigests)
    {
        using var hash = new ContentHash("CryoEmPS.PatchSet/1").Add(patchSize).Add(patchCount).Add(micrographDigests.Count);
        foreach (var digest in micrographDigests)
        {
            hash.AddDigest(digest);
        }
        return hash.Finish();
    }

    public override string ToString()
    {
        string c = ContentKnown ? $" ({WholeCount} whole, {PartialCount} partial, {MultipleCount} multiple, {EmptyCount} empty)" : "";
        string px = PixelSize > 0 ? $", {PixelSize:0.###} Å/px" : "";
        string share = RankShare != null ? $", share of {RankShare}" : HoldsAll ? "" : $", {HeldCount} held here";
        return $"PatchSet {Count} patches of {PatchSize}x{PatchSize}{c}{px}{share}";
    }
}
