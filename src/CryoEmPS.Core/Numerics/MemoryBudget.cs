using System.Globalization;

namespace CryoEmPS.Core.Numerics;

/// <summary>
/// The up-front memory check of every large allocation a user's sizes decide (files, volumes, micrographs, rotation sets,
/// projection stacks, the EM's per-rotation statistics): the estimate is compared with a budget before anything is
/// allocated, so a size that cannot fit fails at once with a message naming both numbers instead of an
/// OutOfMemoryException, an OverflowException or a swapping machine minutes later.
/// </summary>
/// <remarks>
/// The budget is half of the memory available to the process (<c>GC.GetGCMemoryInfo().TotalAvailableMemoryBytes</c>: the
/// machine's RAM or the container's limit), leaving the other half for the rest of the pipeline and the machine. The
/// environment variable <c>CRYOEMPS_MEMORY_LIMIT</c> (bytes, read at every check) replaces the budget, e.g. to allow more on
/// a dedicated machine or to test the refusal.
/// </remarks>
public static class MemoryBudget
{
    /// <summary>The environment variable that replaces the budget (a number of bytes).</summary>
    public const string LimitVariable = "CRYOEMPS_MEMORY_LIMIT";

    /// <summary>The memory available to the process, in bytes (0 when the runtime does not know it).</summary>
    public static long AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// The largest estimate allowed: <see cref="LimitVariable"/> when set to a positive number, else half of
    /// <see cref="AvailableBytes"/>.
    /// </summary>
    public static long BudgetBytes
    {
        get
        {
            string? text = Environment.GetEnvironmentVariable(LimitVariable);
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long limit) && limit > 0)
            {
                return limit;
            }
            long available = AvailableBytes;
            return available > 0 ? available / 2 : long.MaxValue;
        }
    }

    /// <summary>
    /// Throws <see cref="MemoryLimitException"/> (ErrorId InsufficientMemory) when <paramref name="estimatedBytes"/> is over the
    /// budget. <paramref name="what"/> names the work ("a 46340×46340 micrograph"); <paramref name="hint"/> says how to make it
    /// smaller.
    /// </summary>
    public static void Require(double estimatedBytes, string what, string hint)
    {
        long budget = BudgetBytes;
        if (!(estimatedBytes <= budget))
        {
            throw new MemoryLimitException(MemoryLimitException.InsufficientMemory,
                $"{what} needs about {Format(estimatedBytes)} of memory, more than this module allows itself " +
                $"({Format(budget)}: half of the {Format(AvailableBytes)} available to the process, or ${LimitVariable}). " +
                $"Nothing was allocated. {hint}", estimatedBytes, budget);
        }
    }

    /// <summary>
    /// Throws <see cref="MemoryLimitException"/> (ErrorId ArrayTooLarge) when one array of <paramref name="elements"/> values
    /// would exceed the .NET limit (<see cref="Array.MaxLength"/> elements), whatever the memory.
    /// </summary>
    public static void RequireArray(double elements, string what, string hint)
    {
        if (!(elements <= Array.MaxLength))
        {
            throw new MemoryLimitException(MemoryLimitException.ArrayTooLarge,
                $"{what} needs one array of {elements:0} values, more than the {Array.MaxLength} one .NET array can hold. " +
                $"Nothing was allocated. {hint}", elements * 8, BudgetBytes);
        }
    }

    /// <summary>Bytes in words: "17.2 GB", "640 MB", "12 KB".</summary>
    public static string Format(double bytes)
    {
        if (double.IsInfinity(bytes) || bytes >= 1e18)
        {
            return "more than 1 EB";
        }
        return bytes switch
        {
            >= 1e9 => (bytes / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + " GB",
            >= 1e6 => (bytes / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + " MB",
            >= 1e3 => (bytes / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + " KB",
            _ => bytes.ToString("0", CultureInfo.InvariantCulture) + " bytes",
        };
    }
}
