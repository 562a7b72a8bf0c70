namespace CryoEmPS.Core.Reconstruction;

/// <summary>The checkpoint is from a different problem.</summary>
public sealed class CheckpointMismatchException : InvalidOperationException
{
    public CheckpointMismatchException(string message) : base(message) { }
}
