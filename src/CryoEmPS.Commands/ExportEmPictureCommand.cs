using System.Management.Automation;
using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>
/// Export-EmPicture: a PNG to look at. A Micrograph or PatchSet with boxes on its particles or patches (a Micrograph with
/// -PowerSpectrum: its power spectrum beside its CTF²); a Ctf on a centred grid (-Size); an ImageStack
/// (montage); a Volume, FourierBesselVolume or ApproxEmResult as labelled slice and projection panels with a scale bar;
/// an ApproxEmResult with -History as its history chart; one or more FscResults as an FSC chart. Charts come from
/// Core/Plotting (ScottPlot 5) through <see cref="PictureMapping"/>. Written atomically.
/// </summary>
[Cmdlet(VerbsData.Export, "EmPicture", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(FileInfo))]
public sealed class ExportEmPictureCommand : ExportFileCmdletBase
{
    private object? _input;
    private readonly List<FscResult> _fsc = new();

    /// <summary>The object to draw.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object InputObject { get; set; } = null!;

    /// <summary>
    /// Screen pixels per voxel or pixel. Volumes: default 8; image stacks use half of it; micrographs and patch sets:
    /// without -Zoom the picture fits in 1024 pixels, with it each pixel becomes Zoom×Zoom.
    /// </summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Zoom { get; set; } = 8;

    /// <summary>The low and high percentiles of the values mapped to black and white.</summary>
    [Parameter]
    [ValidateCount(2, 2)]
    public double[] Percentile { get; set; } = { 0.5, 99.5 };

    /// <summary>With an ApproxEmResult: draw its history (log-likelihood, FSC, v, seconds per iteration) instead of its volume.</summary>
    [Parameter]
    public SwitchParameter History { get; set; }

    /// <summary>With FscResults: the legend label of each curve, in order.</summary>
    [Parameter]
    [ValidateNotNull]
    public string[]? Label { get; set; }

    /// <summary>With a Micrograph or PatchSet: the reconstruction whose most probable placements to box as well.</summary>
    [Parameter]
    [ValidateNotNull]
    public ApproxEmResult? ApproxEmResult { get; set; }

    /// <summary>
    /// With a Micrograph: draw its power spectrum (mean periodogram of tiles) beside the CTF² of its attached CTF instead of
    /// the micrograph itself.
    /// </summary>
    [Parameter]
    public SwitchParameter PowerSpectrum { get; set; }

    /// <summary>With a Ctf: the side of the square grid it is drawn on; with -PowerSpectrum: the side of the tiles (default 256).</summary>
    [Parameter]
    [ValidateRange(16, 4096)]
    public int Size { get; set; } = 256;

    protected override void ProcessRecord()
    {
        var input = InputObject is PSObject wrapped ? wrapped.BaseObject : InputObject;
        if (input is FscResult fsc && (_input == null || _fsc.Count > 0))
        {
            // Several FSC curves go into one chart.
            _fsc.Add(fsc);
            _input = fsc;
            return;
        }
        if (_fsc.Count > 0)
        {
            AcceptSingleInput(input, "object", "PictureMultipleInputs");
        }
        AcceptSingleInput(input, "object", "PictureMultipleInputs");
        _input = input;
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
        if (History && _input is not Core.Reconstruction.ApproxEmResult)
        {
            Fail($"-History draws the history of an ApproxEmResult, but the input is a {_input.GetType().Name}.", "PictureHistoryNeedsResult",
                ErrorCategory.InvalidArgument, _input);
        }
        if (PowerSpectrum && _input is not Micrograph)
        {
            Fail($"-PowerSpectrum draws the power spectrum of a Micrograph, but the input is a {_input.GetType().Name}.",
                "PicturePowerSpectrumNeedsMicrograph", ErrorCategory.InvalidArgument, _input);
        }
        if (PowerSpectrum && _input is Micrograph m && Math.Min(m.SizeY, m.SizeX) < 16)
        {
            Fail($"-PowerSpectrum needs a micrograph of at least 16x16 pixels; '{m.Name}' is {m.SizeY}x{m.SizeX}.",
                "PicturePowerSpectrumNeedsMicrograph", ErrorCategory.InvalidArgument, _input);
        }
        if (PowerSpectrum && _input is Micrograph { Ctf: null } bare)
        {
            WriteWarning($"The micrograph '{bare.Name}' has no CTF (Set-MicrographCtf attaches one), so only its power spectrum is drawn.");
        }
        int tile = _input is Micrograph mic ? Math.Min(Size, Math.Min(mic.SizeY, mic.SizeX)) & ~1 : Size;
        bool zoomGiven = MyInvocation.BoundParameters.ContainsKey(nameof(Zoom));
        double micrographZoom = zoomGiven ? Zoom : 0;
        if (ApproxEmResult != null && _input is Micrograph or PatchSet
            && !PictureMapping.Placements(ApproxEmResult, 0).Any())
        {
            WriteWarning("This ApproxEmResult carries no per-patch placements yet, so only the true particles (or the patches' " +
                "known content) are boxed.");
        }
        Func<byte[]>? draw = _input switch
        {
            FscResult => () => PictureMapping.Fsc(_fsc, Label).ToPng(),
            Micrograph micrograph when PowerSpectrum => () => PictureMapping.PowerSpectrum(micrograph, tile, low, high).ToPng(),
            Ctf ctf => () => PictureMapping.Ctf(ctf, Size).ToPng(),
            Micrograph micrograph => () => PictureMapping.Micrograph(micrograph, ApproxEmResult, micrographZoom, low, high).ToPng(),
            PatchSet patches => () => PictureMapping.Patches(patches, ApproxEmResult, micrographZoom, low, high).ToPng(),
            ImageStack stack => () => Encode(PngPicture.FromImageStack(stack, Math.Max(1, Zoom / 2), 64, low, high)),
            Volume volume => () => PictureMapping.Volume(volume, Zoom, low, high).ToPng(),
            FourierBesselVolume fourierBessel => () => PictureMapping.Volume(fourierBessel.ToVolume(), Zoom, low, high).ToPng(),
            Core.Reconstruction.ApproxEmResult result when History => () => PictureMapping.History(result).ToPng(),
            Core.Reconstruction.ApproxEmResult result => () => PictureMapping.Volume(result.Volume, Zoom, low, high).ToPng(),
            _ => null,
        };
        if (draw == null)
        {
            Fail($"Export-EmPicture draws a Micrograph, Ctf, PatchSet, ImageStack, Volume, FourierBesselVolume, ApproxEmResult or " +
                $"FscResult, not {_input.GetType().Name}.",
                "PictureUnsupportedType", ErrorCategory.InvalidType, _input);
        }
        byte[] png = Array.Empty<byte>();
        try
        {
            png = draw();
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException)
        {
            Fail(new InvalidOperationException("The chart library could not load its native part (libSkiaSharp). " +
                "Check that the module folder's runtimes/<platform>/native holds it: " + ex.Message, ex),
                "PictureNativeLibraryMissing", ErrorCategory.NotInstalled, _input);
        }
        string what = _fsc.Count > 1 ? $"{_fsc.Count} FSC curves" : _input.ToString() ?? _input.GetType().Name;
        WriteTarget("PictureFile", $"Write a PNG of {what}", stream => stream.Write(png), "PictureInvalidData");
    }

    private static byte[] Encode(PngPicture.Picture picture)
    {
        using var memory = new MemoryStream();
        PngPicture.Write(memory, picture);
        return memory.ToArray();
    }
}
