using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>Export-EmVolume: writes a Volume as an MRC2014 map (mode 2, little-endian, ispg 1), atomically.</summary>
[Cmdlet(VerbsData.Export, "EmVolume", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(FileInfo))]
public sealed class ExportEmVolumeCommand : ExportFileCmdletBase
{
    private int _count;

    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Volume Volume { get; set; } = null!;

    protected override void ProcessRecord()
    {
        if (++_count > 1)
            Fail($"More than one volume was given for the single file '{TargetPath}'. Export each volume to its own path (e.g. with ForEach-Object).",
                "MrcMultipleInputs", ErrorCategory.InvalidArgument, Volume);
        WriteTarget("MrcFile", $"Write {Volume} as an MRC map", s => MrcWriter.WriteVolume(s, Volume), "MrcInvalidData");
    }
}
