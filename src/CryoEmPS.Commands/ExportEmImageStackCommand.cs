using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Commands;

/// <summary>Export-EmImageStack: writes an ImageStack as an MRC stack (mode 2, ispg 0), atomically.</summary>
[Cmdlet(VerbsData.Export, "EmImageStack", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(FileInfo))]
public sealed class ExportEmImageStackCommand : ExportFileCmdletBase
{
    private int _count;

    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public ImageStack ImageStack { get; set; } = null!;

    private ImageStack? _input;

    // The file is written in EndProcessing, so a second piped image stack fails before anything is written.
    protected override void ProcessRecord()
    {
        if (++_count > 1)
            Fail($"More than one image stack was given for the single file '{TargetPath}'; nothing was written. Export each image stack to its own path (e.g. with ForEach-Object).",
                "MrcMultipleInputs", ErrorCategory.InvalidArgument, ImageStack);
        _input = ImageStack;
    }

    protected override void EndProcessing()
    {
        if (_input == null) return;
        var input = _input;
        WriteTarget("MrcFile", $"Write {input} as an MRC stack", s => MrcWriter.WriteImageStack(s, input), "MrcInvalidData");
    }
}
