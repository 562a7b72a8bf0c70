using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>The output of Invoke-ApproxEm: the estimate (voxels and coefficients), v, the history and every parameter used.</summary>
public sealed class ApproxEmResult
{
    public required Volume Volume { get; init; }
    public required FourierBesselVolume FourierBesselVolume { get; init; }
    public double[] Coefficients => FourierBesselVolume.Coefficients;
    public int Size => Volume.SizeX;
    public int EllMax => FourierBesselVolume.EllMax;
    /// <summary>v, the final probability that a patch is empty.</summary>
    public required double EmptyProbability { get; init; }
    public required ApproxEmIteration[] History { get; init; }
    public required int Seed { get; init; }
    public required int PatchCount { get; init; }
    public required double NoiseVariance { get; init; }
    public required double InitialEmptyProbability { get; init; }
    public required int[] EllMaxSchedule { get; init; }
    public required int[] RotationCount { get; init; }
    public required double[] StochasticFactor { get; init; }
    public required int[] MaxIterations { get; init; }
    public required double[] Tolerance { get; init; }
    public required int Threads { get; init; }
    public required double PosteriorCutoff { get; init; }
    /// <summary>The -Precision setting (Auto, Double or Single); each History row says what its E-step used.</summary>
    public required EStepPrecision Precision { get; init; }
    /// <summary>Where x₀ came from: "Volume", "FourierBesselVolume", "Random" or "Checkpoint".</summary>
    public required string InitialVolumeSource { get; init; }
    /// <summary>The largest Tikhonov λ any M-step had to add (0: C was always positive definite).</summary>
    public double Regularization => History.Length == 0 ? 0 : History.Max(row => row.Regularization);
    public int RegularizedIterations => History.Count(row => row.Regularization > 0);
    public string? CheckpointPath { get; init; }
    public bool Resumed { get; init; }
    public double FinalLogLikelihoodPerPatch => History.Length == 0 ? double.NaN : History[^1].LogLikelihoodPerPatch;
    /// <summary>FSC(0.5) crossing shell of the first and last rows (NaN without -Reference).</summary>
    public double InitialFscShell => History.Length == 0 ? double.NaN : History[0].FscShell;
    public double FinalFscShell => History.Length == 0 ? double.NaN : History[^1].FscShell;
    public int Iterations => History.Count(row => row.Iteration > 0);

    public override string ToString()
    {
        string fsc = double.IsNaN(FinalFscShell) ? "" : $", FSC shell {InitialFscShell:0.##} → {FinalFscShell:0.##}";
        return $"ApproxEmResult L = {Size}, ℓmax = {EllMax}, {Iterations} iterations, " +
            $"LL/patch {FinalLogLikelihoodPerPatch:0.###}, v = {EmptyProbability:0.###}{fsc}";
    }
}
