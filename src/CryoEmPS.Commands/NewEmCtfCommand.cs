using System.Management.Automation;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Commands;

/// <summary>
/// New-EmCtf: a contrast transfer function (RELION / CTFFIND4 parameters, CONVENTIONS.md §4) for Set-MicrographCtf,
/// Export-EmPicture or the simulator. A defocus ≤ 0 or NaN stops with ErrorId CtfDefocusInvalid, any other parameter out
/// of range with CtfParameterInvalid.
/// </summary>
[Cmdlet(VerbsCommon.New, "EmCtf")]
[OutputType(typeof(Ctf))]
public sealed class NewEmCtfCommand : CryoEmCmdlet
{
    /// <summary>Underfocus along the astigmatism's major axis, Å (positive = underfocus).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public double DefocusU { get; set; }

    /// <summary>Underfocus along the minor axis, Å (default: DefocusU, no astigmatism).</summary>
    [Parameter(Position = 1)]
    public double? DefocusV { get; set; }

    /// <summary>Azimuth of the major axis, degrees from x towards y.</summary>
    [Parameter]
    public double DefocusAngle { get; set; }

    /// <summary>Acceleration voltage, kV.</summary>
    [Parameter]
    public double Voltage { get; set; } = 300;

    /// <summary>Spherical aberration Cs, mm.</summary>
    [Parameter]
    [Alias("Cs")]
    public double SphericalAberration { get; set; } = 2.7;

    /// <summary>Amplitude contrast w, 0 ≤ w &lt; 1.</summary>
    [Parameter]
    public double AmplitudeContrast { get; set; } = 0.1;

    /// <summary>Extra phase shift (phase plate), degrees.</summary>
    [Parameter]
    public double PhaseShift { get; set; }

    /// <summary>B-factor of the envelope exp(−B k²/4), Å².</summary>
    [Parameter]
    public double BFactor { get; set; }

    /// <summary>Å per pixel of the images the CTF applies to.</summary>
    [Parameter(Mandatory = true)]
    public double PixelSize { get; set; }

    protected override void ProcessRecord()
    {
        double defocusV = DefocusV ?? DefocusU;
        foreach (var (value, name) in new[] { (DefocusU, nameof(DefocusU)), (defocusV, nameof(DefocusV)) })
        {
            if (!(value > 0) || !double.IsFinite(value))
            {
                Fail($"-{name} is {value}; a defocus must be a positive, finite underfocus in Å (for example 15000 for 1.5 µm). " +
                    "RELION and CTFFIND4 write underfocus as positive: never negate it.",
                    "CtfDefocusInvalid", ErrorCategory.InvalidArgument, value);
            }
        }
        Ctf ctf = null!;
        try
        {
            ctf = new Ctf(DefocusU, defocusV, DefocusAngle, Voltage, SphericalAberration, AmplitudeContrast, PixelSize, PhaseShift,
                BFactor);
        }
        catch (ArgumentException ex)
        {
            Fail(ex, "CtfParameterInvalid", ErrorCategory.InvalidArgument, ex.ParamName);
        }
        WriteObject(ctf);
    }
}
