namespace CryoEmPS.Core.Simulation;

/// <summary>How <see cref="NoiseSpectrumEstimator"/> combines the tiles' shell averages at one frequency.</summary>
public enum SpectrumAverage
{
    /// <summary>
    /// The median across tiles, divided by the median of its distribution for pure noise (a Gamma law whose shape is the
    /// shell's effective number of independent values): robust against the minority of tiles that hold particles.
    /// </summary>
    Median,

    /// <summary>The plain mean across tiles: unbiased for pure noise, but every particle adds to it.</summary>
    Mean,
}
