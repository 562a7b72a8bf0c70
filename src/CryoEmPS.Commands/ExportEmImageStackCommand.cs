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

    protected override void ProcessRecord()
    {
        if (++_count > 1)
            Fail($"More than one image stack was given for the single file '{TargetPath}'. Export each stack to its own path.",
                "MrcMultipleInputs", ErrorCategory.InvalidArgument, ImageStack);
        WriteTarget("MrcFile", $"Write {ImageStack} as an MRC stack", s => MrcWriter.WriteImageStack(s, ImageStack), "MrcInvalidData");
    }
}
