using System.Management.Automation;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Measure-NoiseSpectrum: the radial noise power spectrum of a micrograph from tiled, tapered periodograms combined per shell
/// by a robust median across tiles (Core: NoiseSpectrumEstimator). Outputs the NoiseSpectrum, or with -PassThru a copy of
/// the micrograph with the spectrum attached and the step recorded.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "NoiseSpectrum", DefaultParameterSetName = WholeSet)]
[OutputType(typeof(NoiseSpectrum), typeof(Micrograph))]
public sealed class MeasureNoiseSpectrumCommand : MicrographCmdletBase
{
    private const string WholeSet = "Whole", BackgroundSet = "Background";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Micrograph Micrograph { get; set; } = null!;

    /// <summary>The patches the reconstruction was run on (cut from this micrograph, among others, at its present size).</summary>
    [Parameter(Mandatory = true, ParameterSetName = BackgroundSet)]
    [ValidateNotNull]
    public PatchSet PatchSet { get; set; } = null!;

    /// <summary>An Invoke-ApproxEm result on -PatchSet: its PatchEmptyProbability says which patches hold no particle.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BackgroundSet)]
    [ValidateNotNull]
    public ApproxEmResult Reconstruction { get; set; } = null!;

    /// <summary>
    /// A patch counts as background when its posterior probability of being empty is at least this. Default: the reconstruction's
    /// prior v (EmptyProbability), so a patch the data make more likely empty than the prior did. Truly empty patches do not reach
    /// 1: a projection centred outside the patch with only its faint edge inside explains them about as well.
    /// </summary>
    [Parameter(ParameterSetName = BackgroundSet)]
    [ValidateRange(0.0, 1.0)]
    public double MinimumEmptyProbability { get; set; } = double.NaN;

    /// <summary>T, the tile side in pixels (clamped to the micrograph's shorter side).</summary>
    [Parameter]
    [ValidateRange(NoiseSpectrumEstimator.MinimumTileSize, 65536)]
    public int TileSize { get; set; } = NoiseSpectrumEstimator.DefaultTileSize;

    /// <summary>The number of samples from 0 to Nyquist (default T/2 + 1).</summary>
    [Parameter]
    [ValidateRange(2, 32769)]
    public int Shells { get; set; }

    /// <summary>Median (robust; the default on the whole micrograph) or Mean (the default on the background of -Reconstruction) across tiles.</summary>
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

    protected override void BeginProcessing()
    {
        if (ParameterSetName == BackgroundSet && Reconstruction.PatchEmptyProbability.Length != PatchSet.Count)
        {
            Fail($"The reconstruction scored {Reconstruction.PatchEmptyProbability.Length} patches, but the patch set holds {PatchSet.Count}: " +
                "give the patch set the reconstruction was run on.", "NoiseSpectrumReconstructionMismatch", ErrorCategory.InvalidArgument,
                Reconstruction);
        }
    }

    protected override void ProcessRecord()
    {
        RequireNative();
        var m = Micrograph;
        bool[]? background = null;
        string? backgroundPatches = null;
        var average = Average;
        if (ParameterSetName == BackgroundSet)
        {
            (background, backgroundPatches) = Background(m);
            if (background == null)
            {
                return;
            }

            // Particle-free tiles need no robust statistic: the mean is unbiased and less noisy than a quantile.
            if (!MyInvocation.BoundParameters.ContainsKey(nameof(Average)))
            {
                average = SpectrumAverage.Mean;
            }
        }

        var estimator = new NoiseSpectrumEstimator(TileSize, Shells, !NoTaper, average, quantile: Quantile);
        var spectrum = Measure(estimator, m, background);
        if (spectrum == null)
        {
            return;
        }

        int tile = estimator.TileSideFor(m.SizeY, m.SizeX);
        WriteVerbose($"'{m.Name}': {estimator.TileCount(m.SizeY, m.SizeX, background)} tiles of {tile}² px ({(NoTaper ? "untapered" : "sin²-tapered")}, " +
            $"half-overlapping{(background == null ? "" : ", on the background")}), {average.ToString().ToLowerInvariant()} per shell: {spectrum}; variance over the micrograph's DFT grid " +
            $"{spectrum.Variance(Math.Min(m.SizeY, 1024), Math.Min(m.SizeX, 1024)):g4}.");
        if (!PassThru)
        {
            WriteObject(spectrum);
            return;
        }

        var copy = m.Copy();
        copy.NoiseSpectrum = spectrum;
        copy.Steps.Add(StepFor(MyInvocation.BoundParameters, backgroundPatches));
        WriteObject(copy);
    }

    /// <summary>
    /// The pixels of <paramref name="m"/> covered by a patch of -PatchSet that -Reconstruction found empty (probability at least
    /// -MinimumEmptyProbability, by default its v), and which patches they were for the step's record; null after writing a non-terminating error when the micrograph is not in the patch set
    /// (NoiseSpectrumMicrographNotInPatchSet), its name is there more than once (NoiseSpectrumMicrographAmbiguous), or it is not
    /// the image its patches were cut from (NoiseSpectrumPatchSetMismatch).
    /// </summary>
    private (bool[]? Mask, string? Patches) Background(Micrograph m)
    {
        int index = Array.IndexOf(PatchSet.MicrographNames, m.Name);
        if (index < 0)
        {
            MicrographProcessing.WriteItemError(this,
                $"The micrograph '{m.Name}' is not among the patch set's micrographs ({string.Join(", ", PatchSet.MicrographNames.Take(5))}" +
                $"{(PatchSet.MicrographCount > 5 ? ", …" : "")}): its background is unknown.", "NoiseSpectrumMicrographNotInPatchSet",
                ErrorCategory.ObjectNotFound, m);
            return (null, null);
        }

        if (Array.LastIndexOf(PatchSet.MicrographNames, m.Name) != index)
        {
            MicrographProcessing.WriteItemError(this,
                $"The patch set holds several micrographs named '{m.Name}': which patches are this one's is ambiguous. Give the " +
                "micrographs distinct names (their Name property) before Get-PatchSet.", "NoiseSpectrumMicrographAmbiguous",
                ErrorCategory.InvalidArgument, m);
            return (null, null);
        }

        int l = PatchSet.PatchSize;
        bool pixelSizesDiffer = PatchSet.PixelSize > 0 && m.PixelSize > 0 && Math.Abs(PatchSet.PixelSize / m.PixelSize - 1) > 0.01;
        var mine = Enumerable.Range(0, PatchSet.Count).Where(q => PatchSet.Origins[q].Micrograph == index).ToArray();
        var origins = mine.Select(q => PatchSet.Origins[q]).ToArray();
        if (pixelSizesDiffer || origins.Any(o => o.Row + l > m.SizeY || o.Column + l > m.SizeX))
        {
            MicrographProcessing.WriteItemError(this,
                $"The patches of '{m.Name}' were cut from a {(pixelSizesDiffer ? $"micrograph at {PatchSet.PixelSize:g4} Å/px" : "larger micrograph")}, " +
                $"not from this {m.SizeY}×{m.SizeX} one at {m.PixelSize:g4} Å/px: measure the micrograph the patch set was cut from " +
                "(after the same resizing).", "NoiseSpectrumPatchSetMismatch", ErrorCategory.InvalidArgument, m);
            return (null, null);
        }

        double threshold = double.IsNaN(MinimumEmptyProbability) ? Reconstruction.EmptyProbability : MinimumEmptyProbability;
        var background = new bool[m.Data.Length];
        int empty = 0;
        foreach (int q in mine)
        {
            if (!(Reconstruction.PatchEmptyProbability[q] >= threshold))
            {
                continue;
            }

            empty++;
            var o = PatchSet.Origins[q];
            for (int y = o.Row; y < o.Row + l; y++)
            {
                Array.Fill(background, true, y * m.SizeX + o.Column, l);
            }
        }

        WriteVerbose($"'{m.Name}': {empty} of its {mine.Length} patches are empty with probability ≥ {threshold:0.###}" +
            $"{(double.IsNaN(MinimumEmptyProbability) ? " (the reconstruction's prior v)" : "")}: their " +
            $"{background.Count(b => b)} pixels are the background.");
        return (background, $"'{empty} of {mine.Length} patches empty (p ≥ {threshold:0.###})'");
    }

    /// <summary>
    /// The step recorded by -PassThru: the estimator's parameters as given; on a background, which patches it was (the mask
    /// itself comes from the reconstruction, which the step cannot hold).
    /// </summary>
    private static MicrographStep StepFor(Dictionary<string, object> bound, string? backgroundPatches)
    {
        var parameters = new List<(string, object?)>();
        if (backgroundPatches != null)
        {
            parameters.Add(("Reconstruction", backgroundPatches));
        }

        foreach (string name in new[] { "MinimumEmptyProbability", "TileSize", "Shells", "Average", "NoTaper", "Quantile" })
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
