using System.Management.Automation;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>
/// Measure-FourierBesselCeiling: what a reconstruction at each ℓmax can reach, as FSC against the volume — its own
/// Fourier–Bessel expansion and, given micrographs simulated from it, the oracle-pose least-squares fit.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "FourierBesselCeiling")]
[OutputType(typeof(CeilingMeasurement))]
public sealed class MeasureFourierBesselCeilingCommand : CryoEmCmdlet
{
    private const string Activity = "Measure-FourierBesselCeiling";

    /// <summary>The volume (the truth).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Volume Volume { get; set; } = null!;

    /// <summary>The ℓmax values to measure (default the paper's 6, 10, 14, capped at the largest ℓ the volume's L allows).</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    [ValidateRange(0, 1000)]
    public int[] EllMax { get; set; } = { 6, 10, 14 };

    /// <summary>Micrographs simulated from the volume (New-Micrograph): adds the oracle-pose fit from their recorded poses.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public Micrograph[]? Micrograph { get; set; }

    /// <summary>
    /// With -Micrograph: K of an EM's rotation grid (the super-Fibonacci grid Invoke-ApproxEm -RotationCount makes), one for every
    /// ℓmax or one per -EllMax value: adds the oracle-pose fit with each true rotation snapped to the nearest grid rotation.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateRange(1, 1_000_000)]
    public int[]? RotationCount { get; set; }

    /// <summary>The FSC threshold of the crossings (0.5 against a known truth).</summary>
    [Parameter]
    [ValidateRange(-0.999, 0.999)]
    public double Threshold { get; set; } = 0.5;

    /// <summary>Threads of the oracle fit's normal equations (default all processors).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = Environment.ProcessorCount;

    protected override void ProcessRecord()
    {
        RequireNative(fftw: true, blas: true);
        if (!Volume.IsCube)
        {
            Fail(new NonCubicVolumeException(Volume), "CeilingNonCubicVolume", ErrorCategory.InvalidArgument, Volume);
        }
        RequireFiniteVolume(Volume, "volume");
        int size = Volume.Size, max = FourierBesselBasis.MaxEll(size);
        if (!MyInvocation.BoundParameters.ContainsKey(nameof(EllMax)))
        {
            // The default 6, 10, 14, each capped at what this L allows (6, 10 for L = 11).
            EllMax = EllMax.Select(ell => Math.Min(ell, max)).Distinct().ToArray();
        }
        foreach (int ell in EllMax)
        {
            if (ell > max)
            {
                Fail($"ℓmax = {ell} is above the largest ℓ with a radial function for L = {size} (S(ℓ) > 0 only up to ℓ = " +
                    $"{max}). Give -EllMax values up to {max}.", "CeilingEllMaxTooLarge", ErrorCategory.InvalidArgument, ell);
            }
        }
        var micrographs = Micrograph ?? Array.Empty<Micrograph>();
        CheckMicrographs(micrographs, size);
        var grids = Grids(micrographs.Length > 0);
        try
        {
            for (int i = 0; i < EllMax.Length; i++)
            {
                int ell = EllMax[i];
                Progress(1, Activity, $"ℓmax {ell}", 100 * i / EllMax.Length, force: true);
                WriteVerbose(micrographs.Length == 0
                    ? $"ℓmax {ell}: the FSC of {Volume} against its own expansion."
                    : $"ℓmax {ell}: the own expansion, and the oracle-pose fit of {micrographs.Sum(m => m.ParticleCount)} particles.");
                var measurement = FourierBesselCeiling.Measure(Volume, ell, micrographs, Threshold, ThrottleLimit, CancellationToken,
                    grids?[i]);
                if (measurement.OracleRegularization > 0)
                {
                    WriteWarning($"ℓmax {ell}: the oracle normal equations were not positive definite (too few particles for " +
                        $"{measurement.ParameterCount} parameters?); a Tikhonov term {measurement.OracleRegularization:g3} was added.");
                }
                WriteObject(measurement);
            }
        }
        catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        finally
        {
            ProgressCompleted(1, Activity);
        }
    }

    /// <summary>The rotation grid of each -EllMax value (null without -RotationCount); one grid per distinct K.</summary>
    private RotationSet[]? Grids(bool haveMicrographs)
    {
        if (RotationCount == null)
        {
            return null;
        }
        if (!haveMicrographs)
        {
            Fail("-RotationCount adds the oracle-pose fit on a rotation grid, which needs the particles' true poses: give " +
                "-Micrograph (micrographs simulated from this volume) as well.", "CeilingRotationCountNeedsMicrograph",
                ErrorCategory.InvalidArgument, RotationCount);
        }
        if (RotationCount.Length != 1 && RotationCount.Length != EllMax.Length)
        {
            Fail($"-RotationCount needs one value, or one per -EllMax value ({EllMax.Length}); got {RotationCount.Length}.",
                "CeilingRotationCountMismatch", ErrorCategory.InvalidArgument, RotationCount);
        }
        return RotationGrid.SuperFibonacci(EllMax.Select((_, i) => RotationCount[RotationCount.Length == 1 ? 0 : i]));
    }

    private void CheckMicrographs(Micrograph[] micrographs, int size)
    {
        foreach (var micrograph in micrographs)
        {
            if (micrograph.Truth == null)
            {
                Fail($"{micrograph} carries no truth (the particles' poses): the oracle-pose fit needs micrographs simulated by " +
                    "New-Micrograph from this volume, not imported ones. Leave out -Micrograph for the expansion ceiling alone.",
                    "CeilingMicrographHasNoTruth", ErrorCategory.InvalidArgument, micrograph);
            }
            if (micrograph.Truth.ParticleSize != size)
            {
                Fail($"{micrograph} holds particles of {micrograph.Truth.ParticleSize} px but the volume is {size}³: simulate the " +
                    "micrographs from this volume (or one of its size, without -DownsampleTo to another size).",
                    "CeilingSizeMismatch", ErrorCategory.InvalidArgument, micrograph);
            }
        }
        if (micrographs.Length > 0 && micrographs.All(m => m.ParticleCount == 0))
        {
            Fail("The micrographs hold no particles, so there is nothing to fit. Simulate them with -ParticleCount or -Density.",
                "CeilingNoParticles", ErrorCategory.InvalidArgument, micrographs);
        }
    }
}
