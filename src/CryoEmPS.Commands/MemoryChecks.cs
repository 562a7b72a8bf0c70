using System.Management.Automation;
using CryoEmPS.Core.Numerics;

namespace CryoEmPS.Commands;

/// <summary>
/// The up-front memory checks of the cmdlets (<see cref="MemoryBudget"/>): a size whose estimate is over the budget stops with
/// ErrorId InsufficientMemory, one array over the .NET limit with ArrayTooLarge, before anything is allocated.
/// </summary>
internal static class MemoryChecks
{
    /// <summary>
    /// Stops <paramref name="cmdlet"/> when <paramref name="bytes"/> (and, when given, one array of <paramref name="largestArray"/>
    /// values) cannot fit.
    /// </summary>
    public static void Require(CryoEmCmdlet cmdlet, double bytes, string what, string hint, object? target, double largestArray = 0)
    {
        try
        {
            MemoryBudget.RequireArray(largestArray, what, hint);
            MemoryBudget.Require(bytes, what, hint);
        }
        catch (MemoryLimitException ex)
        {
            cmdlet.Fail(ex, ex.ErrorId, ErrorCategory.LimitsExceeded, target);
        }
    }

    /// <summary>An L³ volume of doubles and <paramref name="copies"/> more arrays like it.</summary>
    public static double Volume(int size, double copies = 1) => 8.0 * size * size * size * copies;
}
