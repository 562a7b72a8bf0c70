using System.Management.Automation;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Edit-Micrograph: contrast inversion, normalisation and whitening of a micrograph, applied in that fixed order when several
/// switches are given; each is recorded as its own step on the returned copy.
/// </summary>
[Cmdlet(VerbsData.Edit, "Micrograph")]
[OutputType(typeof(Micrograph))]
public sealed class EditMicrographCommand : MicrographCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Micrograph Micrograph { get; set; } = null!;

    /// <summary>Negate every pixel (raw particles are dark; CryoEmPS's are white).</summary>
    [Parameter]
    public SwitchParameter InvertContrast { get; set; }

    /// <summary>Subtract the mean and divide by the noise standard deviation.</summary>
    [Parameter]
    public SwitchParameter Normalize { get; set; }

    /// <summary>Divide the micrograph's DFT by √PSD.</summary>
    [Parameter]
    public SwitchParameter Whiten { get; set; }

    /// <summary>The noise spectrum of the micrograph as given (else its own, else measured).</summary>
    [Parameter]
    [ValidateNotNull]
    public NoiseSpectrum? NoiseSpectrum { get; set; }

    /// <summary>The tile side used when the spectrum must be measured.</summary>
    [Parameter]
    [ValidateRange(NoiseSpectrumEstimator.MinimumTileSize, 65536)]
    public int TileSize { get; set; } = NoiseSpectrumEstimator.DefaultTileSize;

    protected override void ProcessRecord()
    {
        RequireNative();
        if (!InvertContrast && !Normalize && !Whiten)
        {
            Fail("Give at least one of -InvertContrast, -Normalize and -Whiten.", "MicrographEditNotGiven", ErrorCategory.InvalidArgument,
                Micrograph);
        }

        var m = Micrograph;
        if (NoiseSpectrum != null && MicrographProcessing.PixelSizeMismatch(NoiseSpectrum, m) is string mismatch)
        {
            MicrographProcessing.WriteItemError(this, mismatch, "NoiseSpectrumPixelSizeMismatch", ErrorCategory.InvalidArgument, m);
            return;
        }

        if (InputChecks.NonFinitePixel(m) is string bad)
        {
            MicrographProcessing.WriteItemError(this, bad, "MicrographNotFinite", ErrorCategory.InvalidData, m);
            return;
        }

        // The noise spectrum of the image as it is now: the one given, else the micrograph's own; measured when needed.
        var spectrum = NoiseSpectrum ?? m.NoiseSpectrum;
        string source = NoiseSpectrum != null ? "given" : "the micrograph's";
        var working = m;
        if (InvertContrast)
        {
            working = MicrographPreprocessing.InvertContrast(working);
            working.Steps.Add(MicrographProcessing.Step("Edit-Micrograph", ("InvertContrast", null)));
            WriteVerbose($"'{m.Name}': contrast inverted (particles dark → white, the CTF convention of CryoEmPS and RELION).");
        }

        if (Normalize)
        {
            double variance = spectrum != null
                ? (spectrum.IsWhite ? spectrum.Power[0] : spectrum.Variance(working.SizeY, working.SizeX))
                : working.NoiseVariance > 0 ? working.NoiseVariance : double.NaN;
            if (double.IsNaN(variance))
            {
                spectrum = MeasureFor(working);
                if (spectrum == null)
                {
                    return;
                }

                source = "measured";
                variance = spectrum.Variance(working.SizeY, working.SizeX);
            }
            else if (spectrum == null)
            {
                source = "NoiseVariance";
            }

            working = MicrographPreprocessing.Normalize(working, variance);
            spectrum = spectrum?.Scaled(1 / variance);
            working.NoiseSpectrum = spectrum ?? working.NoiseSpectrum;
            working.Steps.Add(NoiseSpectrum != null
                ? MicrographProcessing.Step("Edit-Micrograph", ("Normalize", null), ("NoiseSpectrum", NoiseSpectrum.Name))
                : MicrographProcessing.Step("Edit-Micrograph", ("Normalize", null)));
            WriteVerbose($"'{m.Name}': mean subtracted, divided by σ = {Math.Sqrt(variance):g4} (noise variance from {source}); " +
                "NoiseVariance = 1.");
        }

        if (Whiten)
        {
            if (spectrum == null)
            {
                spectrum = MeasureFor(working);
                if (spectrum == null)
                {
                    return;
                }

                source = "measured";
            }

            bool again = working.Whitening != null;
            const string activity = "Edit-Micrograph -Whiten";
            var input = working;
            var used = spectrum;
            try
            {
                MemoryChecks.Require(this, 8.0 * input.Data.Length * 3, $"Whitening the {input.SizeY}×{input.SizeX} micrograph '{m.Name}'",
                    "Free memory, or resize the micrograph first (Resize-Micrograph).", m);
                working = RunPumped<double, Micrograph>((progress, token) => MicrographPreprocessing.Whiten(input, used, progress, token),
                    fraction => Progress(4, activity, $"'{m.Name}': whitening", (int)(100 * fraction)));
            }
            finally
            {
                ProgressCompleted(4, activity);
            }

            working.Steps.Add(NoiseSpectrum != null
                ? MicrographProcessing.Step("Edit-Micrograph", ("Whiten", null), ("NoiseSpectrum", NoiseSpectrum.Name))
                : MicrographProcessing.Step("Edit-Micrograph", ("Whiten", null)));
            WriteVerbose($"'{m.Name}': whitened by the {source} spectrum ({used}); NoiseVariance = 1, NoiseSpectrum white." +
                (again ? " It was whitened before: Whitening is now the product of both spectra." : "") +
                (working.Ctf != null ? " The CTF stays; the EM's filter is CTF/√Whitening." : ""));
        }

        WriteObject(working);
    }

    private NoiseSpectrum? MeasureFor(Micrograph micrograph)
    {
        var estimator = new NoiseSpectrumEstimator(TileSize);
        var spectrum = Measure(estimator, micrograph);
        if (spectrum != null)
        {
            WriteVerbose($"'{micrograph.Name}': no noise spectrum known; measured one as Measure-NoiseSpectrum -TileSize {TileSize} does " +
                $"({spectrum}).");
        }

        return spectrum;
    }
}
