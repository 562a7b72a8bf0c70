using CryoEmPS.Core.Native;

namespace CryoEmPS.Commands;

/// <summary>This process's place in an MPI job (<see cref="GetEmMpiRankCommand"/>).</summary>
public sealed class EmMpiRank
{
    internal EmMpiRank(ICommunicator world)
    {
        Rank = world.Rank;
        Size = world.Size;
        IsMpi = world is Mpi;
        BytesMoved = world.BytesMoved;
        SecondsCommunicating = world.SecondsCommunicating;
    }

    /// <summary>This process's rank (0 without MPI).</summary>
    public int Rank { get; }

    /// <summary>The number of processes (1 without MPI).</summary>
    public int Size { get; }

    /// <summary>True when the process runs under an MPI launcher and OpenMPI is in use.</summary>
    public bool IsMpi { get; }

    /// <summary>True on the rank that writes files and reports progress (rank 0).</summary>
    public bool IsFirst => Rank == 0;

    /// <summary>Bytes this process has sent and received in the EM's reductions and broadcasts so far.</summary>
    public long BytesMoved { get; }

    /// <summary>Seconds this process has spent in them (waiting for the other ranks included).</summary>
    public double SecondsCommunicating { get; }

    public override string ToString() => IsMpi ? $"MPI rank {Rank} of {Size}" : "one process (no MPI)";
}
