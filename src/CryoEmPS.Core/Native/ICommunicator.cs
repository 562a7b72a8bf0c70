namespace CryoEmPS.Core.Native;

/// <summary>
/// The few collective operations the EM needs to spread over processes (issue 13): who am I, how many are we, add arrays
/// across all of us in a fixed order, and copy rank 0's array to everyone. <see cref="SingleProcess"/> is the world of one
/// process (every operation a no-op); <see cref="Mpi"/> is OpenMPI's MPI_COMM_WORLD.
/// </summary>
public interface ICommunicator
{
    /// <summary>This process's rank, 0 … <see cref="Size"/> − 1.</summary>
    int Rank { get; }

    /// <summary>The number of processes.</summary>
    int Size { get; }

    /// <summary>
    /// Replaces <paramref name="values"/> on every rank by the sum over the ranks, added in rank order
    /// (((v₀ + v₁) + v₂) + …): the result is the same bits on every rank and depends only on the rank count.
    /// </summary>
    void SumInPlace(double[] values);

    /// <summary>Replaces <paramref name="values"/> on every rank by rank 0's.</summary>
    void Broadcast(double[] values);

    /// <summary>
    /// Ends the whole job because this rank cannot go on (<paramref name="error"/>): the other ranks would otherwise wait for it
    /// forever inside a sum. MPI aborts every rank; one process does nothing (the error is simply thrown).
    /// </summary>
    void Fail(Exception error);

    /// <summary>Bytes this process has sent and received in <see cref="SumInPlace"/> and <see cref="Broadcast"/> so far.</summary>
    long BytesMoved { get; }

    /// <summary>Seconds this process has spent in <see cref="SumInPlace"/> and <see cref="Broadcast"/> so far (waiting included).</summary>
    double SecondsCommunicating { get; }
}
