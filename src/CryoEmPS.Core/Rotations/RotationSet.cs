namespace CryoEmPS.Core.Rotations;

/// <summary>How a <see cref="RotationSet"/> was made.</summary>
public enum RotationSetKind { Grid, Random, Custom }

/// <summary>A finite set of rotations Ω^K (the EM's discretisation of SO(3), or the poses to project at).</summary>
public sealed class RotationSet
{
    public RotationSet(IReadOnlyList<Rotation> rotations, RotationSetKind kind = RotationSetKind.Custom, int requestedCount = 0, int? seed = null)
    {
        if (rotations.Count == 0) throw new ArgumentException("A rotation set needs at least one rotation.", nameof(rotations));
        foreach (var r in rotations) r.Validate();
        Rotations = rotations.ToArray();
        Kind = kind;
        RequestedCount = requestedCount > 0 ? requestedCount : Rotations.Length;
        Seed = seed;
    }

    public Rotation[] Rotations { get; }
    public int Count => Rotations.Length;
    public RotationSetKind Kind { get; }
    /// <summary>The K that was asked for; <see cref="Count"/> is the K achieved.</summary>
    public int RequestedCount { get; }
    public int? Seed { get; }
    public Rotation this[int i] => Rotations[i];

    public override string ToString() => $"RotationSet {Kind}, K = {Count}" + (RequestedCount != Count ? $" (asked {RequestedCount})" : "");
}
