using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Commands;

/// <summary>Export-EmImageStack: writes an ImageStack as an MRC stack (mode 2, ispg 0), atomically.</summary>
[Cmdlet(VerbsData.Export, "EmImageStack", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(FileInfo))]
public sealed class ExportEmImageStackCommand : ExportFileCmdletBase
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public ImageStack ImageStack { get; set; } = null!;

    private ImageStack? _input;

    // The file is written in EndProcessing, so a second piped image stack fails before anything is written.
    protected override void ProcessRecord()
    {
        AcceptSingleInput(ImageStack, "image stack", "MrcMultipleInputs");
        _input = ImageStack;
    }

    protected override void EndProcessing()
    {
        if (_input == null)
        {
            return;
        }
        var input = _input;
        WriteTarget("MrcFile", $"Write {input} as an MRC stack", stream => MrcWriter.WriteImageStack(stream, input), "MrcInvalidData");
    }
}
