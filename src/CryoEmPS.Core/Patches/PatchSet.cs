using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Core.Patches;

/// <summary>
/// The observed data of the approximate EM (Section 3.1): P non-overlapping L×L patches cut from one or
/// more micrographs, stored as one array [patch, y, x] (x fastest).
/// </summary>
public sealed class PatchSet
{
    public PatchSet(int patchSize, double[] data, PatchOrigin[] origins, PatchContent[]? content = null, double noiseVariance = double.NaN,
        IReadOnlyList<string>? micrographNames = null, double pixelSize = 0)
    {
        if (patchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(patchSize));
        }
        int l2 = patchSize * patchSize;
        if (data.Length != origins.Length * l2)
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
    }

    /// <summary>L, the side of each patch.</summary>
    public int PatchSize { get; }
    public int Count => Origins.Length;
    /// <summary>Patch values [patch, y, x].</summary>
    public double[] Data { get; }
    public PatchOrigin[] Origins { get; }
    public PatchContent[] Content { get; }
    /// <summary>σ² carried from the micrographs (NaN when they did not carry one, or disagreed).</summary>
    public double NoiseVariance { get; }
    public string[] MicrographNames { get; }
    /// <summary>Å per pixel carried from the micrographs (0 when unknown or when they disagree); the EM's volume gets it.</summary>
    public double PixelSize { get; }
    public int MicrographCount => MicrographNames.Length;

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

    public ReadOnlySpan<double> Patch(int q) => Data.AsSpan(q * PatchSize * PatchSize, PatchSize * PatchSize);

    public int EmptyCount => Content.Count(c => c == PatchContent.Empty);
    public int WholeCount => Content.Count(c => c == PatchContent.Whole);
    public int PartialCount => Content.Count(c => c == PatchContent.Partial);
    public int MultipleCount => Content.Count(c => c == PatchContent.Multiple);
    public bool ContentKnown => Content.Length > 0 && Content.All(c => c != PatchContent.Unknown);

    /// <summary>
    /// The SHA-256 fingerprint of the patch set (checkpoints compare it): <see cref="CombineFingerprints"/> of L, the patch count
    /// and the <see cref="MicrographDigest"/> of every micrograph in index order. Any change of a value changes it, a sign flip
    /// (contrast inversion) included.
    /// </summary>
    public string Fingerprint()
    {
        int micrographs = Origins.Length == 0 ? 0 : Origins.Max(o => o.Micrograph) + 1;
        var digests = new byte[micrographs][];
        for (int m = 0; m < micrographs; m++)
        {
            digests[m] = MicrographDigest(m);
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
        return $"PatchSet {Count} patches of {PatchSize}x{PatchSize}{c}{px}";
    }
}
