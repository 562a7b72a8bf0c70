namespace CryoEmPS.Core.Patches;

/// <summary>Where a patch came from: micrograph index, and the row/column of its top-left pixel.</summary>
public readonly record struct PatchOrigin(int Micrograph, int Row, int Column);
