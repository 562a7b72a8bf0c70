namespace CryoEmPS.Core.Native;

/// <summary>One process: rank 0 of 1; sums and broadcasts leave the values as they are.</summary>
public sealed class SingleProcess : ICommunicator
{
    /// <summary>The one instance.</summary>
    public static readonly SingleProcess Instance = new();

    private SingleProcess() { }

    public int Rank => 0;

    public int Size => 1;

    public void SumInPlace(double[] values) => ArgumentNullException.ThrowIfNull(values);

    public void Broadcast(double[] values) => ArgumentNullException.ThrowIfNull(values);

    public void Fail(Exception error) { }

    public long BytesMoved => 0;

    public double SecondsCommunicating => 0;
}
