using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The ceilings a reconstruction at ℓmax cannot pass (issue 11, item 6), each as an FSC against the truth:
/// <list type="bullet">
/// <item>the Fourier–Bessel ceiling: the volume against its own ℓmax expansion (the least-squares fit of
/// <see cref="FourierBesselTransform.Analyze"/>, synthesised back) — what the model can represent at all;</item>
/// <item>the oracle-pose fit (<see cref="OraclePoseFit"/>): the least-squares coefficients from the same noisy micrographs with
/// the true poses — what the data support without a prior;</item>
/// <item>optionally the same fit with each true rotation snapped to the nearest of an EM's rotation grid — what the data support
/// for an EM that searches that grid (the grid's angular spacing blurs the high degrees, whatever the EM does).</item>
/// </list>
/// </summary>
public static class FourierBesselCeiling
{
    /// <summary>The ℓmax of the paper's three stages.</summary>
    public static IReadOnlyList<int> PaperEllMax { get; } = new[] { 6, 10, 14 };

    /// <summary>The FSC of <paramref name="volume"/> against its own ℓmax expansion.</summary>
    public static FscResult Expansion(Volume volume, int ellMax, double threshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(volume);
        var expansion = FourierBesselTransform.Analyze(volume, ellMax).ToVolume();
        return Fsc.Compute(volume, expansion, threshold);
    }

    /// <summary>
    /// Both ceilings of <paramref name="truth"/> at <paramref name="ellMax"/>; the oracle-pose fit only when
    /// <paramref name="micrographs"/> (simulated from the truth, with their recorded poses) are given, and with
    /// <paramref name="grid"/> also the fit on that rotation grid (<see cref="OraclePoseFit.Fit(IReadOnlyList{Micrograph}, int, out MStepSolution, int, CancellationToken, RotationSet?)"/>).
    /// </summary>
    public static CeilingMeasurement Measure(Volume truth, int ellMax, IReadOnlyList<Micrograph>? micrographs = null,
        double threshold = 0.5, int threads = 0, CancellationToken token = default, RotationSet? grid = null)
    {
        ArgumentNullException.ThrowIfNull(truth);
        truth.RequireCube();
        var basis = FourierBesselBasis.Create(truth.Size, ellMax);
        var expansion = Expansion(truth, ellMax, threshold);
        token.ThrowIfCancellationRequested();
        if (micrographs == null || micrographs.Count == 0)
        {
            return new CeilingMeasurement(truth.Name, truth.Size, ellMax, basis.Count, threshold, expansion, null, null, 0);
        }
        int l = OraclePoseFit.ParticleSize(micrographs);
        if (l != truth.Size)
        {
            throw new ArgumentException($"The micrographs hold particles of {l} px but the volume is {truth.Size}³: simulate them " +
                "from this volume (or one of its size).", nameof(micrographs));
        }
        var fit = OraclePoseFit.Fit(micrographs, ellMax, out var solution, threads, token);
        fit.VoxelSize = truth.VoxelSize;
        var oracle = Fsc.Compute(truth, fit.ToVolume(), threshold);
        int particles = micrographs.Sum(m => m.ParticleCount);
        FscResult? onGrid = null;
        if (grid != null)
        {
            var gridFit = OraclePoseFit.Fit(micrographs, ellMax, out _, threads, token, grid);
            onGrid = Fsc.Compute(truth, gridFit.ToVolume(), threshold);
        }

        return new CeilingMeasurement(truth.Name, truth.Size, ellMax, basis.Count, threshold, expansion, oracle, fit, particles)
        {
            OracleRegularization = solution.Regularization,
            GridOracle = onGrid,
            RotationCount = grid?.Count ?? 0,
        };
    }
}
