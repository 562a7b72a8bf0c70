namespace CryoEmPS.Core.Reconstruction;

/// <summary>The check the priors make of user-given relative weights, written once.</summary>
internal static class PriorWeights
{
    /// <summary>
    /// Σ w after checking that every weight is 0 or more and finite and that at least one is positive; otherwise throws,
    /// naming <paramref name="what"/> ("Lag", "Rotation") and the parameter.
    /// </summary>
    public static double CheckedTotal(IReadOnlyList<double> weights, string what, string parameter)
    {
        double total = 0;
        foreach (var w in weights)
        {
            if (!(w >= 0) || double.IsInfinity(w))
            {
                throw new ArgumentOutOfRangeException(parameter, w, $"{what} weights must be 0 or more and finite.");
            }

            total += w;
        }

        if (!(total > 0))
        {
            throw new ArgumentException($"At least one {what.ToLowerInvariant()} weight must be positive.", parameter);
        }

        return total;
    }
}
