namespace CryoEmPS.Core.Reconstruction;

/// <summary>A user-input problem in an EM request, with the stable ErrorId the cmdlet reports.</summary>
public sealed class ApproxEmInputException : ArgumentException
{
    public ApproxEmInputException(string errorId, string message) : base(message) { ErrorId = errorId; }
    public string ErrorId { get; }
}
