using System.Management.Automation;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>
/// A bound volume parameter (a PSObject is unwrapped) read as a voxel <see cref="Volume"/> or a
/// <see cref="FourierBesselVolume"/>: the one place the cmdlets dispatch on the type of a volume they are given, and
/// stop with a stable ErrorId on anything else.
/// </summary>
internal sealed class VolumeInput
{
    private VolumeInput(Volume? voxels, FourierBesselVolume? fourierBessel)
    {
        Voxels = voxels;
        FourierBessel = fourierBessel;
    }

    /// <summary>The voxel volume, or null when the input is a Fourier–Bessel volume.</summary>
    public Volume? Voxels { get; }

    /// <summary>The Fourier–Bessel volume, or null when the input is a voxel volume.</summary>
    public FourierBesselVolume? FourierBessel { get; }

    /// <summary>The volume itself (the target of error records).</summary>
    public object Value => (object?)Voxels ?? FourierBessel!;

    /// <summary>L, the side of the volume.</summary>
    public int Size => Voxels?.SizeX ?? FourierBessel!.Size;

    public string Name => Voxels?.Name ?? FourierBessel!.Name;

    /// <summary>
    /// The projector of the volume: the voxel Fourier-slice projector (needs FFTW; dispose it) or the exact
    /// Fourier–Bessel projector (eqs. 9–16).
    /// </summary>
    public IProjector CreateProjector()
        => FourierBessel != null ? new FourierBesselProjector(FourierBessel) : new VoxelProjector(Voxels!);

    /// <summary>
    /// -Volume of New-Micrograph and Get-EmProjection: a FourierBesselVolume, or a cubic Volume whose voxels are all
    /// finite (else <paramref name="nonCubicErrorId"/>, VolumeNotFinite); anything else stops with InvalidVolumeType.
    /// </summary>
    public static VolumeInput ForProjection(CryoEmCmdlet cmdlet, object bound, string nonCubicErrorId)
    {
        object input = Unwrap(bound);
        if (input is FourierBesselVolume fourierBessel)
        {
            RequireFinite(cmdlet, fourierBessel, "volume");
            return new VolumeInput(null, fourierBessel);
        }
        var volume = input as Volume;
        if (volume == null)
        {
            cmdlet.Fail($"-Volume must be a Volume or a FourierBesselVolume, not {input.GetType().Name}.", "InvalidVolumeType",
                ErrorCategory.InvalidType, input);
        }
        if (!volume.IsCube)
        {
            cmdlet.Fail(new NonCubicVolumeException(volume), nonCubicErrorId, ErrorCategory.InvalidArgument, volume);
        }
        cmdlet.RequireFiniteVolume(volume, "volume");
        return new VolumeInput(volume, null);
    }

    /// <summary>
    /// -InitialVolume of Invoke-ApproxEm: a Volume whose voxels are all finite (VolumeNotFinite; its size is checked
    /// by <see cref="ApproxEmRequest.Resolve"/>), a FourierBesselVolume, or a previous ApproxEmResult (its
    /// coefficients); anything else stops with InitialVolumeInvalidType.
    /// </summary>
    public static VolumeInput ForInitialVolume(CryoEmCmdlet cmdlet, object bound)
    {
        object input = Unwrap(bound);
        if (input is FourierBesselVolume fourierBessel)
        {
            RequireFinite(cmdlet, fourierBessel, "initial volume");
            return new VolumeInput(null, fourierBessel);
        }
        if (input is ApproxEmResult previous)
        {
            RequireFinite(cmdlet, previous.FourierBesselVolume, "initial volume");
            return new VolumeInput(null, previous.FourierBesselVolume);
        }
        var volume = input as Volume;
        if (volume == null)
        {
            cmdlet.Fail($"-InitialVolume must be a Volume or a FourierBesselVolume; got {input.GetType().FullName}.",
                "InitialVolumeInvalidType", ErrorCategory.InvalidType, input);
        }
        cmdlet.RequireFiniteVolume(volume, "initial volume");
        return new VolumeInput(volume, null);
    }

    /// <summary>Stops with ErrorId <c>VolumeNotFinite</c> when a Fourier–Bessel coefficient is NaN or infinite.</summary>
    public static void RequireFinite(CryoEmCmdlet cmdlet, FourierBesselVolume volume, string role)
    {
        if (InputChecks.NonFiniteCoefficient(volume, role) is string message)
        {
            cmdlet.Fail(message, "VolumeNotFinite", ErrorCategory.InvalidData, volume);
        }
    }

    private static object Unwrap(object bound) => bound is PSObject wrapped ? wrapped.BaseObject : bound;
}
