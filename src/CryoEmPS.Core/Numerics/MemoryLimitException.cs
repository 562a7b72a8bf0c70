namespace CryoEmPS.Core.Numerics;

/// <summary>
/// A size that cannot be allocated, found before allocating: <see cref="ErrorId"/> is InsufficientMemory (the estimate is over
/// <see cref="MemoryBudget.BudgetBytes"/>) or ArrayTooLarge (one array over <see cref="Array.MaxLength"/> elements).
/// </summary>
public sealed class MemoryLimitException : Exception
{
    public const string InsufficientMemory = "InsufficientMemory";
    public const string ArrayTooLarge = "ArrayTooLarge";

    public MemoryLimitException(string errorId, string message, double estimatedBytes, long budgetBytes)
        : base(message)
    {
        ErrorId = errorId;
        EstimatedBytes = estimatedBytes;
        BudgetBytes = budgetBytes;
    }

    /// <summary>The stable ErrorId the cmdlets report.</summary>
    public string ErrorId { get; }

    public double EstimatedBytes { get; }

    public long BudgetBytes { get; }
}
