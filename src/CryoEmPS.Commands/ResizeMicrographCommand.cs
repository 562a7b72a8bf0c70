using System.Management.Automation;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Resize-Micrograph: downsamples a micrograph by centred Fourier cropping to a pixel size (-PixelSize, Å) or to a longer side
/// (-Size, pixels), keeping the aspect ratio; pixel size, noise variance, noise spectrum, whitening and CTF follow.
/// Upsampling is refused (MicrographUpsampleRefused).
/// </summary>
[Cmdlet(VerbsCommon.Resize, "Micrograph", DefaultParameterSetName = PixelSizeSet)]
[OutputType(typeof(Micrograph))]
public sealed class ResizeMicrographCommand : CryoEmCmdlet
{
    private const string PixelSizeSet = "PixelSize";
    private const string SizeSet = "Size";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Micrograph Micrograph { get; set; } = null!;

    /// <summary>The target pixel size, Å (at least the micrograph's).</summary>
    [Parameter(Mandatory = true, ParameterSetName = PixelSizeSet)]
    [ValidateRange(1e-6, 1e6)]
    public double PixelSize { get; set; }

    /// <summary>The target longer side, pixels (at most the micrograph's).</summary>
    [Parameter(Mandatory = true, ParameterSetName = SizeSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Size { get; set; }

    protected override void ProcessRecord()
    {
        RequireNative();
        var m = Micrograph;
        int longer = m.Size;
        int longSide;
        MicrographStep step;
        if (ParameterSetName == PixelSizeSet)
        {
            if (!(m.PixelSize > 0))
            {
                MicrographProcessing.WriteItemError(this,
                    $"The micrograph '{m.Name}' has no pixel size (0 = unknown), so -PixelSize {PixelSize} cannot be reached. Set " +
                    "its PixelSize property (Å) first, or give -Size in pixels.", "MicrographPixelSizeUnknown", ErrorCategory.InvalidData, m);
                return;
            }

            if (PixelSize < m.PixelSize * (1 - 1e-9))
            {
                RefuseUpsampling(m, $"-PixelSize {PixelSize} Å is finer than the micrograph's {m.PixelSize:0.####} Å");
                return;
            }

            longSide = MicrographPreprocessing.LongSideFor(longer, m.PixelSize, PixelSize);
            step = MicrographProcessing.Step("Resize-Micrograph", ("PixelSize", PixelSize));
        }
        else
        {
            if (Size > longer)
            {
                RefuseUpsampling(m, $"-Size {Size} is larger than the micrograph's longer side, {longer} px");
                return;
            }

            longSide = Size;
            step = MicrographProcessing.Step("Resize-Micrograph", ("Size", Size));
        }

        var (sizeY, sizeX) = MicrographPreprocessing.ResizedShape(m.SizeY, m.SizeX, longSide);
        MemoryChecks.Require(this, 8L * m.Data.Length * 3, $"Resizing the {m.SizeY}×{m.SizeX} micrograph '{m.Name}'",
            "Free memory, or resize a smaller micrograph.", m);
        var resized = MicrographPreprocessing.Resize(m, sizeY, sizeX, CancellationToken);
        resized.Steps.Add(step);
        if (sizeY == m.SizeY && sizeX == m.SizeX)
        {
            WriteVerbose($"'{m.Name}': size unchanged ({sizeY}×{sizeX}); a copy is returned.");
        }
        else
        {
            string perAxis = m.PixelSize > 0 && sizeY != sizeX
                ? $" (per axis: y {m.PixelSize * m.SizeY / sizeY:0.#####}, x {m.PixelSize * m.SizeX / sizeX:0.#####} Å; the longer side's is kept)"
                : "";
            WriteVerbose($"'{m.Name}': Fourier-cropped {m.SizeY}×{m.SizeX} → {sizeY}×{sizeX}; pixel size " +
                $"{(m.PixelSize > 0 ? $"{m.PixelSize:0.#####} → {resized.PixelSize:0.#####} Å" : "unknown")}{perAxis}; noise variance " +
                $"{m.NoiseVariance:g4} → {resized.NoiseVariance:g4}." +
                (m.Truth != null || m.Clean != null ? " The truth and the clean image are dropped (they belong to the old size)." : ""));
        }

        WriteObject(resized);
    }

    private void RefuseUpsampling(Micrograph m, string what)
        => MicrographProcessing.WriteItemError(this,
            $"{what}: Resize-Micrograph only downsamples (Fourier cropping). Upsampling would add frequencies without noise power, " +
            "which cannot be whitened. Give a larger -PixelSize or a smaller -Size.", "MicrographUpsampleRefused",
            ErrorCategory.InvalidArgument, m);
}
