namespace CryoEmPS.Core.Projection;

/// <summary>
/// Stage 2 of the forward model (<see cref="ForwardModel"/>): the image filter F_g of one micrograph group, applied to a
/// clean projection before it is placed and cropped. The identity today (<see cref="IdentityFilter"/>); the contrast
/// transfer function next. A filter may spread signal beyond the projection (a CTF delocalises it by several pixels):
/// <see cref="Margin"/> says by how much, and the forward model's box grows to L + 2·margin on each axis.
/// Implementations are immutable and safe to call from several threads; two filters that are
/// <see cref="object.Equals(object)"/> put their micrographs in one filter group.
/// </summary>
public interface IImageFilter
{
    /// <summary>A short name for messages and checkpoints ("identity", "CTF 1.2 µm", ...).</summary>
    string Name { get; }

    /// <summary>True when F_g is the identity: the EM's fast path, in which A_{s,ω}ᵀA_{s,ω} is a diagonal mask, applies.</summary>
    bool IsIdentity { get; }

    /// <summary>Pixels of signal the filter puts beyond each edge of an L×L projection (0 for the identity).</summary>
    int Margin(int imageSize);

    /// <summary>
    /// The filtered image of side L + 2·<see cref="Margin"/>, [y, x], of the L×L <paramref name="image"/> placed at offset
    /// (margin, margin) in that box and zero elsewhere.
    /// </summary>
    void Apply(ReadOnlySpan<double> image, int imageSize, Span<double> filtered);
}
