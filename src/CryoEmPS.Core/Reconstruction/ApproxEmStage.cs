using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>One frequency-marching stage of Algorithm 1: a model (ℓmax), a rotation set Ω^K, S, N_it and ε.</summary>
public sealed class ApproxEmStage
{
    public ApproxEmStage(ILinearProjectionModel model, RotationSet rotations, double stochasticFactor, int maxIterations,
        double tolerance = double.NegativeInfinity, int ellMax = 0)
    {
        if (!(stochasticFactor > 0 && stochasticFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(stochasticFactor),
                $"The stochastic factor S must satisfy 0 < S ≤ 1; got {stochasticFactor}.");
        }
        if (maxIterations < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxIterations), "MaxIterations must be 0 or more.");
        }
        if (double.IsNaN(tolerance))
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance));
        }
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Rotations = rotations ?? throw new ArgumentNullException(nameof(rotations));
        StochasticFactor = stochasticFactor;
        MaxIterations = maxIterations;
        Tolerance = tolerance;
        EllMax = ellMax;
    }

    public ILinearProjectionModel Model { get; }
    public RotationSet Rotations { get; }
    public double StochasticFactor { get; }
    public int MaxIterations { get; }
    /// <summary>ε: the stage stops when the log-likelihood per patch gains ≤ ε between successive E-steps (−∞: never early).</summary>
    public double Tolerance { get; }
    /// <summary>The ℓmax of the model (a label; 0 when the model has none).</summary>
    public int EllMax { get; }
}
