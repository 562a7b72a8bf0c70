using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>Export-EmVolume: writes a Volume as an MRC2014 map (mode 2, little-endian, ispg 1), atomically.</summary>
[Cmdlet(VerbsData.Export, "EmVolume", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
[OutputType(typeof(FileInfo))]
public sealed class ExportEmVolumeCommand : ExportFileCmdletBase
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Volume Volume { get; set; } = null!;

    private Volume? _input;

    // The file is written in EndProcessing, so a second piped volume fails before anything is written.
    protected override void ProcessRecord()
    {
        AcceptSingleInput(Volume, "volume", "MrcMultipleInputs");
        _input = Volume;
    }

    protected override void EndProcessing()
    {
        if (_input == null)
        {
            return;
        }
        var input = _input;
        WriteTarget("MrcFile", $"Write {input} as an MRC map", stream => MrcWriter.WriteVolume(stream, input), "MrcInvalidData");
    }
}
