using System.Management.Automation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>Samples a Fourier–Bessel expansion at the L³ voxel centres.</summary>
[Cmdlet(VerbsData.ConvertFrom, "FourierBessel")]
[OutputType(typeof(Volume))]
public sealed class ConvertFromFourierBesselCommand : CryoEmCmdlet
{
    /// <summary>The Fourier–Bessel volume to synthesise.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public FourierBesselVolume FourierBessel { get; set; } = null!;

    protected override void ProcessRecord()
    {
        RequireNative(fftw: false, blas: true);
        VolumeInput.RequireFinite(this, FourierBessel, "Fourier–Bessel volume");
        MemoryChecks.Require(this, MemoryChecks.Volume(FourierBessel.Size, 2), $"A {FourierBessel.Size}³ volume",
            "Use a smaller L.", FourierBessel);
        WriteVerbose($"Synthesising {FourierBessel} at the {FourierBessel.Size}³ voxel centres.");
        WriteObject(FourierBesselTransform.Synthesize(FourierBessel));
    }
}
