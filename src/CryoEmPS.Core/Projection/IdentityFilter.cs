namespace CryoEmPS.Core.Projection;

/// <summary>The identity image filter: F_g = I, margin 0. Every identity filter is equal, so such micrographs share one group.</summary>
public sealed class IdentityFilter : IImageFilter, IEquatable<IdentityFilter>
{
    /// <summary>The one instance.</summary>
    public static readonly IdentityFilter Instance = new();

    private IdentityFilter()
    {
    }

    public string Name => "identity";

    public bool IsIdentity => true;

    public int Margin(int imageSize) => 0;

    public void Apply(ReadOnlySpan<double> image, int imageSize, Span<double> filtered)
        => image[..(imageSize * imageSize)].CopyTo(filtered);

    public bool Equals(IdentityFilter? other) => other is not null;

    public override bool Equals(object? obj) => obj is IdentityFilter;

    public override int GetHashCode() => 0x1D;

    public override string ToString() => Name;
}
