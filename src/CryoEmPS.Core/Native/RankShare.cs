namespace CryoEmPS.Core.Native;

/// <summary>
/// Marks data that one rank of an MPI job loaded for itself (Import-Micrograph -RankShare): rank <see cref="Rank"/> of
/// <see cref="Size"/> holds the contiguous share ⌊n·r/P⌋ … ⌊n·(r+1)/P⌋ − 1 of an ordered list of n items (<see cref="Range"/>).
/// Micrographs carry it, Get-PatchSet hands it on to the patch set, and Invoke-ApproxEm joins the ranks' shares into one
/// patch set whose pixels stay where they were loaded (<see cref="Patches.PatchSetShares.Join"/>).
/// </summary>
public sealed record RankShare(int Rank, int Size)
{
    /// <summary>This rank's share of <paramref name="count"/> items: [Start, End), ⌊n·r/P⌋ … ⌊n·(r+1)/P⌋ (empty when n &lt; P).</summary>
    public (int Start, int End) Range(int count) => Range(count, Rank, Size);

    /// <summary>Rank <paramref name="rank"/>'s contiguous share of <paramref name="count"/> items among <paramref name="size"/> ranks.</summary>
    public static (int Start, int End) Range(int count, int rank, int size)
        => ((int)((long)count * rank / size), (int)((long)count * (rank + 1) / size));

    /// <summary>The share of this process in <paramref name="world"/>.</summary>
    public static RankShare Of(ICommunicator world) => new(world.Rank, world.Size);

    public override string ToString() => $"rank {Rank} of {Size}";
}
