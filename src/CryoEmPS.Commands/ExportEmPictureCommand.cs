using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>
/// Export-EmPicture: a greyscale PNG to look at a Micrograph, an ImageStack (montage), a Volume (central
/// slices and a projection), a FourierBesselVolume or an ApproxEmResult (its volume). Written atomically.
/// </summary>
[Cmdlet(VerbsData.Export, "EmPicture", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(FileInfo))]
public sealed class ExportEmPictureCommand : ExportFileCmdletBase
{
    private object? _input;
    /// <summary>The object to draw.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object InputObject { get; set; } = null!;

    /// <summary>Magnification of volumes and image stacks (each voxel or pixel becomes Zoom×Zoom pixels).</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Zoom { get; set; } = 8;

    /// <summary>The low and high percentiles of the values mapped to black and white.</summary>
    [Parameter]
    [ValidateCount(2, 2)]
    public double[] Percentile { get; set; } = { 0.5, 99.5 };

    protected override void ProcessRecord()
    {
        AcceptSingleInput(InputObject, "object", "PictureMultipleInputs");
        _input = InputObject is PSObject wrapped ? wrapped.BaseObject : InputObject;
    }

    protected override void EndProcessing()
    {
        if (_input == null)
        {
            return;
        }
        double low = Percentile[0];
        double high = Percentile[1];
        if (!(low >= 0 && high <= 100 && low < high))
        {
            Fail($"-Percentile needs two values with 0 ≤ low < high ≤ 100; got {low} and {high}.", "PictureInvalidPercentile",
                ErrorCategory.InvalidArgument, Percentile);
        }
        PngPicture.Picture? picture = _input switch
        {
            Micrograph micrograph => PngPicture.FromMicrograph(micrograph, 1024, low, high),
            ImageStack stack => PngPicture.FromImageStack(stack, Math.Max(1, Zoom / 2), 64, low, high),
            Volume volume => PngPicture.FromVolume(volume, Zoom, low, high),
            FourierBesselVolume fourierBessel => PngPicture.FromVolume(fourierBessel.ToVolume(), Zoom, low, high),
            ApproxEmResult result => PngPicture.FromVolume(result.Volume, Zoom, low, high),
            _ => null,
        };
        if (picture == null)
        {
            Fail($"Export-EmPicture draws a Micrograph, ImageStack, Volume, FourierBesselVolume or ApproxEmResult, " +
                $"not {_input.GetType().Name}.",
                "PictureUnsupportedType", ErrorCategory.InvalidType, _input);
        }
        WriteTarget("PictureFile", $"Write a {picture.Width}x{picture.Height} PNG of {_input}", stream => PngPicture.Write(stream, picture),
            "PictureInvalidData");
    }
}
