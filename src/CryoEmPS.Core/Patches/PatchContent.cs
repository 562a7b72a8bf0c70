namespace CryoEmPS.Core.Patches;

/// <summary>What a patch holds, known only for simulated micrographs.</summary>
public enum PatchContent
{
    Unknown = 0,
    /// <summary>No projection overlaps the patch.</summary>
    Empty,
    /// <summary>One projection lies wholly inside the patch (it sits exactly on the patch).</summary>
    Whole,
    /// <summary>Part of one projection overlaps the patch.</summary>
    Partial,
    /// <summary>Parts of two or more projections overlap the patch (possible only with Arbitrary spacing).</summary>
    Multiple,
}
