using System.Management.Automation;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// New-Micrograph: simulates micrographs of a molecule (paper Sections 2 and 4): projections at random
/// rotations placed by random sequential adsorption, white Gaussian noise at the SNR of eq. (4).
/// Method 2 (default) projects the volume at its own size; Method 1 (-DownsampleTo L) projects at full
/// size and Fourier-downsamples the micrograph.
/// </summary>
[Cmdlet(VerbsCommon.New, "Micrograph")]
[OutputType(typeof(Micrograph))]
public sealed class NewMicrographCommand : CryoEmCmdlet
{
    private const int ProgressId = 31;
    private const string Activity = "New-Micrograph";

    /// <summary>
    /// A cubic Volume (projected by the voxel Fourier-slice projector) or a FourierBesselVolume (projected exactly by the model of
    /// eqs. 9–16).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public object Volume { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(1, 65536)]
    public int Size { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int ParticleCount { get; set; }

    [Parameter]
    public double Density { get; set; }

    [Parameter]
    public double Snr { get; set; } = 1;

    [Parameter]
    public ParticleSpacing Spacing { get; set; } = ParticleSpacing.WellSeparated;

    [Parameter]
    [ValidateNotNull]
    public RotationSet? Rotation { get; set; }

    [Parameter]
    public int? Seed { get; set; }

    [Parameter]
    [ValidateRange(1, 100000)]
    public int Count { get; set; } = 1;

    [Parameter]
    public SwitchParameter IncludeClean { get; set; }

    [Parameter]
    [ValidateRange(1, 4096)]
    public int DownsampleTo { get; set; }

    /// <summary>The CTF of every micrograph (New-EmCtf), or with -DefocusRange the optics to draw defocus values for.</summary>
    [Parameter]
    [ValidateNotNull]
    public Ctf? Ctf { get; set; }

    /// <summary>Draw each micrograph's mean defocus uniformly from this range (two values in Å, e.g. 10000, 25000).</summary>
    [Parameter]
    [ValidateCount(2, 2)]
    public double[]? DefocusRange { get; set; }

    /// <summary>The noise spectrum's shape: a NoiseSpectrum (Measure-NoiseSpectrum) or a model name: White, Falloff, Ice.</summary>
    [Parameter]
    [ValidateNotNull]
    public object? NoiseSpectrum { get; set; }

    /// <summary>Negate the image, as raw micrographs show particles dark.</summary>
    [Parameter]
    public SwitchParameter InvertContrast { get; set; }

    protected override void ProcessRecord()
    {
        RequireNative();
        var input = VolumeInput.ForProjection(this, Volume, "NonCubicVolume");
        var bound = MyInvocation.BoundParameters;
        var options = new MicrographSimulationOptions
        {
            Size = Size,
            ParticleCount = bound.ContainsKey(nameof(ParticleCount)) ? ParticleCount : null,
            Density = bound.ContainsKey(nameof(Density)) ? Density : null,
            Snr = Snr,
            Spacing = Spacing,
            Rotations = Rotation,
            IncludeClean = IncludeClean.IsPresent,
            DownsampleTo = bound.ContainsKey(nameof(DownsampleTo)) ? DownsampleTo : null,
            NoiseSpectrum = SpectrumShape(),
            InvertContrast = InvertContrast.IsPresent,
        };
        if (options.ParticleCount == null && options.Density == null)
        {
            Fail("Give the number of projections per micrograph, -ParticleCount T, " +
                 "or the density -Density γ (γ = T·L²/N²; the paper uses 0.4).",
                 "ParticleCountMissing", ErrorCategory.InvalidArgument, null);
        }

        // The options are checked against the volume size before the (costlier) projector is built.
        try
        {
            MicrographSimulator.Validate(input.Size, options);
        }
        catch (SimulationArgumentException ex)
        {
            Fail(ex, ex.ErrorId, ErrorCategory.InvalidArgument, input.Value);
        }

        // The simulated M×M image (M = N·L̃/L with -DownsampleTo), clean and noisy, and with Method 1 its spectrum and the output.
        double simulated = DownsampleTo > 0 ? Math.Ceiling((double)Size * input.Size / DownsampleTo) : Size;
        double pixels = simulated * simulated;
        // A CTF or coloured noise adds a whole-image FFT (real and half-complex buffers) and, for coloured noise, a noise image.
        int filterImages = Ctf != null || DefocusRange != null || NoiseSpectrum != null ? 3 : 0;
        MemoryChecks.Require(this, 8 * pixels * ((DownsampleTo > 0 ? 5 : 2) + filterImages) + 8.0 * Size * Size, $"A {Size}×{Size} micrograph",
            "Give a smaller -Size (the paper uses N = 1003).", input.Value, pixels);
        int seed = Seed ?? DrawSeed();
        if (Seed == null)
        {
            WriteVerbose($"Seed {seed} drawn; give -Seed {seed} to repeat this run.");
        }
        IProjector projector = input.CreateProjector();
        try
        {
            for (int i = 0; i < Count; i++)
            {
                options.Seed = MicrographSimulator.DeriveSeed(seed, i);
                options.Ctf = CtfFor(options.Seed, projector.PixelSize, input.Value);
                int index = i;
                Micrograph? micrograph = null;
                try
                {
                    micrograph = RunPumped<SimulationReport, Micrograph>(
                        (progress, token) => MicrographSimulator.Simulate(projector, options, progress, token),
                        report =>
                        {
                            switch (report.Kind)
                            {
                                case SimulationReportKind.Warning:
                                    WriteWarning(Count > 1 ? $"Micrograph {index + 1}: {report.Message}" : report.Message);
                                    break;
                                case SimulationReportKind.Verbose:
                                    WriteVerbose(report.Message);
                                    break;
                                default:
                                    int percent = report.Percent < 0 ? 0 : (int)((index * 100L + report.Percent) / Count);
                                    Progress(ProgressId, Activity, $"Micrograph {index + 1} of {Count}: {report.Message}", percent);
                                    break;
                            }
                        });
                }
                catch (SimulationArgumentException ex)
                {
                    Fail(ex, ex.ErrorId, ErrorCategory.InvalidArgument, input.Value);
                }
                if (string.IsNullOrEmpty(micrograph.Name) || Count > 1)
                {
                    micrograph.Name = (string.IsNullOrEmpty(input.Name) ? "micrograph" : input.Name) + (Count > 1 ? $"_{i + 1}" : "");
                }
                WriteObject(micrograph);
            }
        }
        finally
        {
            ProgressCompleted(ProgressId, Activity);
            (projector as IDisposable)?.Dispose();
        }
    }

    /// <summary>-NoiseSpectrum as a spectrum shape (a model name or a NoiseSpectrum); null for white noise.</summary>
    private NoiseSpectrum? SpectrumShape()
    {
        object? value = NoiseSpectrum is PSObject wrapped ? wrapped.BaseObject : NoiseSpectrum;
        switch (value)
        {
            case null:
                return null;
            case NoiseSpectrum spectrum:
                return spectrum;
            case string name:
                try
                {
                    return Core.Projection.NoiseSpectrum.Model(name);
                }
                catch (ArgumentException ex)
                {
                    Fail(ex, "UnknownNoiseSpectrum", ErrorCategory.InvalidArgument, name);
                    return null;
                }

            default:
                Fail($"-NoiseSpectrum takes a NoiseSpectrum (Measure-NoiseSpectrum) or a model name " +
                    $"({string.Join(", ", Core.Projection.NoiseSpectrum.ModelNames)}); got a {value.GetType().Name}.",
                    "UnknownNoiseSpectrum", ErrorCategory.InvalidArgument, value);
                return null;
        }
    }

    /// <summary>The CTF of the micrograph with seed <paramref name="micrographSeed"/>: -Ctf, or a draw from -DefocusRange.</summary>
    private Ctf? CtfFor(int micrographSeed, double pixelSize, object target)
    {
        if (DefocusRange == null)
        {
            return Ctf;
        }

        if (!(pixelSize > 0))
        {
            Fail("A CTF needs the volume's voxel size to turn pixels into spatial frequencies, and this volume has none. " +
                "Give the volume a voxel size (New-EmVolume -VoxelSize, or an MRC with one).", "CtfNeedsPixelSize",
                ErrorCategory.InvalidArgument, target);
        }

        var template = Ctf ?? new Ctf(DefocusRange[0], DefocusRange[0], 0, 300, 2.7, 0.1, pixelSize);
        try
        {
            return MicrographSimulator.DrawCtf(template.WithPixelSize(pixelSize), DefocusRange[0], DefocusRange[1], micrographSeed);
        }
        catch (SimulationArgumentException ex)
        {
            Fail(ex, ex.ErrorId, ErrorCategory.InvalidArgument, DefocusRange);
            return null;
        }
    }
}
