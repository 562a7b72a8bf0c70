using System.Management.Automation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>
/// Least-squares Fourier–Bessel coefficients (eqs. 6–8) of a cubic voxel volume up to ℓmax.
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "FourierBessel")]
[OutputType(typeof(FourierBesselVolume))]
public sealed class ConvertToFourierBesselCommand : CryoEmCmdlet
{
    /// <summary>The cubic volume to expand.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Volume Volume { get; set; } = null!;

    /// <summary>The largest angular frequency ℓ kept.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(0, 1000)]
    public int EllMax { get; set; }

    protected override void ProcessRecord()
    {
        RequireNative(fftw: false, blas: true);
        if (!Volume.IsCube)
        {
            Fail(new NonCubicVolumeException(Volume), "FourierBesselNonCubicVolume", ErrorCategory.InvalidArgument, Volume);
        }
        RequireFiniteVolume(Volume, "volume");
        int L = Volume.Size;
        if (L < 2)
        {
            Fail($"The volume is {L}³; the Fourier–Bessel basis needs a side L ≥ 2.", "FourierBesselVolumeTooSmall",
                ErrorCategory.InvalidArgument, Volume);
        }
        int ell = EllMax;
        int max = FourierBesselBasis.MaxEll(L);
        if (max < 0)
        {
            Fail($"The volume is {L}³; the Fourier–Bessel basis has no function below L = 4 (its first radial zero must lie under " +
                "2πRc, R = ⌊L/2⌋). Resize the volume to at least 4³ (Resize-EmVolume).", "FourierBesselVolumeTooSmall",
                ErrorCategory.InvalidArgument, Volume);
        }
        if (ell > max)
        {
            WriteWarning($"ℓmax = {ell} is above the largest ℓ with a radial function for L = {L} " +
                $"(S(ℓ) > 0 only up to ℓ = {max}); using ℓmax = {max}.");
            ell = max;
        }
        WriteVerbose($"Least-squares Fourier–Bessel fit of {Volume} with ℓmax = {ell} " +
            $"({FourierBesselBasis.Create(L, ell).Count} real parameters).");
        FourierBesselVolume? fourierBessel = null;
        try
        {
            fourierBessel = FourierBesselTransform.Analyze(Volume, ell);
        }
        catch (InvalidOperationException ex)
        {
            Fail(ex, "FourierBesselFitFailed", ErrorCategory.InvalidResult, Volume);
        }
        WriteObject(fourierBessel);
    }
}
