namespace CryoEmPS.Core.Reconstruction;

/// <summary>The solution of one M-step and what it took to get it.</summary>
public sealed class MStepSolution
{
    internal MStepSolution(double[] x, double lambda, double condition)
    {
        Coefficients = x;
        Regularization = lambda;
        ConditionEstimate = condition;
    }

    public double[] Coefficients { get; }
    /// <summary>The Tikhonov term λ added to C (0 when C was positive definite as it stood).</summary>
    public double Regularization { get; }
    /// <summary>
    /// When C was not positive definite: λmax/|λmin| of C from a symmetric eigen-decomposition (∞ when λmin = 0); NaN otherwise.
    /// </summary>
    public double ConditionEstimate { get; }
    public bool Regularized => Regularization > 0;
}
