using System.Management.Automation;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Measure-NoiseSpectrum: the radial noise power spectrum of a micrograph from tiled, tapered periodograms combined per shell
/// by a robust median across tiles (Core: NoiseSpectrumEstimator). Outputs the NoiseSpectrum, or with -PassThru a copy of
/// the micrograph with the spectrum attached and the step recorded.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "NoiseSpectrum")]
[OutputType(typeof(NoiseSpectrum), typeof(Micrograph))]
public sealed class MeasureNoiseSpectrumCommand : MicrographCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Micrograph Micrograph { get; set; } = null!;

    /// <summary>T, the tile side in pixels (clamped to the micrograph's shorter side).</summary>
    [Parameter]
    [ValidateRange(NoiseSpectrumEstimator.MinimumTileSize, 65536)]
    public int TileSize { get; set; } = NoiseSpectrumEstimator.DefaultTileSize;

    /// <summary>The number of samples from 0 to Nyquist (default T/2 + 1).</summary>
    [Parameter]
    [ValidateRange(2, 32769)]
    public int Shells { get; set; }

    /// <summary>Median (robust, default) or Mean across tiles.</summary>
    [Parameter]
    public SpectrumAverage Average { get; set; } = SpectrumAverage.Median;

    /// <summary>Leave the tiles untapered (no sin² window).</summary>
    [Parameter]
    public SwitchParameter NoTaper { get; set; }

    /// <summary>With the median average: the quantile across tiles per shell (0.5 = the median); lower leans on particle-poor tiles.</summary>
    [Parameter]
    [ValidateRange(0.01, 0.99)]
    public double Quantile { get; set; } = 0.5;

    /// <summary>Output a copy of the micrograph with NoiseSpectrum set, instead of the spectrum.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        RequireNative();
        var m = Micrograph;
        var estimator = new NoiseSpectrumEstimator(TileSize, Shells, !NoTaper, Average, quantile: Quantile);
        var spectrum = Measure(estimator, m);
        if (spectrum == null)
        {
            return;
        }

        int tile = estimator.TileSideFor(m.SizeY, m.SizeX);
        WriteVerbose($"'{m.Name}': {estimator.TileCount(m.SizeY, m.SizeX)} tiles of {tile}² px ({(NoTaper ? "untapered" : "sin²-tapered")}, " +
            $"half-overlapping), {Average.ToString().ToLowerInvariant()} per shell: {spectrum}; variance over the micrograph's DFT grid " +
            $"{spectrum.Variance(Math.Min(m.SizeY, 1024), Math.Min(m.SizeX, 1024)):g4}.");
        if (!PassThru)
        {
            WriteObject(spectrum);
            return;
        }

        var copy = m.Copy();
        copy.NoiseSpectrum = spectrum;
        copy.Steps.Add(StepFor(MyInvocation.BoundParameters));
        WriteObject(copy);
    }

    /// <summary>The step recorded by -PassThru: the estimator's parameters as given.</summary>
    private static MicrographStep StepFor(Dictionary<string, object> bound)
    {
        var parameters = new List<(string, object?)>();
        foreach (string name in new[] { "TileSize", "Shells", "Average", "NoTaper", "Quantile" })
        {
            if (bound.TryGetValue(name, out object? value))
            {
                parameters.Add((name, value is SwitchParameter ? null : value));
            }
        }

        parameters.Add(("PassThru", null));
        return MicrographProcessing.Step("Measure-NoiseSpectrum", parameters.ToArray());
    }
}
