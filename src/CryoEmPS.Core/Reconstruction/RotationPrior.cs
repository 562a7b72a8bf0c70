namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The prior over the K rotations of a stage's grid, as the E-step consumes it: a log-weight log π_ω per rotation. The
/// paper's is uniform, π_ω = 1/K, and stays so (<see cref="Updated"/> keeps it); a non-uniform one (a preferred-orientation
/// prior) gives its weights to the constructor.
/// </summary>
public sealed class RotationPrior
{
    private readonly double[]? _logWeights;

    /// <summary>The uniform prior over <paramref name="count"/> rotations.</summary>
    public RotationPrior(int count)
    {
        if (count < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "A rotation prior needs at least one rotation.");
        }

        Count = count;
    }

    /// <summary>π_ω ∝ <paramref name="weights"/> (≥ 0, finite, not all 0), normalised to sum to 1.</summary>
    public RotationPrior(double[] weights)
        : this(weights.Length)
    {
        double total = PriorWeights.CheckedTotal(weights, "Rotation", nameof(weights));

        _logWeights = weights.Select(w => Math.Log(w / total)).ToArray();
    }

    /// <summary>K, the number of rotations.</summary>
    public int Count { get; }

    public bool IsUniform => _logWeights == null;

    /// <summary>log π_ω of rotation <paramref name="rotation"/>: −log K when uniform.</summary>
    public double LogWeight(int rotation) => _logWeights == null ? -Math.Log(Count) : _logWeights[rotation];

    /// <summary>The M-step of the rotation prior: the paper keeps it fixed, so this returns the same prior.</summary>
    public RotationPrior Updated(EStepResult statistics) => this;
}
