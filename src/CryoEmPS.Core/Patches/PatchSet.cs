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

    public ReadOnlySpan<double> Patch(int q) => Data.AsSpan(q * PatchSize * PatchSize, PatchSize * PatchSize);

    public int EmptyCount => Content.Count(c => c == PatchContent.Empty);
    public int WholeCount => Content.Count(c => c == PatchContent.Whole);
    public int PartialCount => Content.Count(c => c == PatchContent.Partial);
    public int MultipleCount => Content.Count(c => c == PatchContent.Multiple);
    public bool ContentKnown => Content.Length > 0 && Content.All(c => c != PatchContent.Unknown);

    /// <summary>A cheap fingerprint of the data (for checkpoints): FNV-1a over the bit patterns.</summary>
    public ulong Fingerprint()
    {
        ulong hash = 1469598103934665603UL;
        void Mix(ulong v)
        {
            hash ^= v;
            hash *= 1099511628211UL;
        }

        Mix((ulong)PatchSize);
        Mix((ulong)Count);
        foreach (var v in Data)
        {
            Mix((ulong)BitConverter.DoubleToInt64Bits(v));
        }
        return hash;
    }

    public override string ToString()
    {
        string c = ContentKnown ? $" ({WholeCount} whole, {PartialCount} partial, {MultipleCount} multiple, {EmptyCount} empty)" : "";
        string px = PixelSize > 0 ? $", {PixelSize:0.###} Å/px" : "";
        return $"PatchSet {Count} patches of {PatchSize}x{PatchSize}{c}{px}";
    }
}
