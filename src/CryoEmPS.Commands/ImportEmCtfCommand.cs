using System.Management.Automation;
using CryoEmPS.Core.IO;

namespace CryoEmPS.Commands;

/// <summary>
/// Import-EmCtf: reads a RELION STAR (micrographs_ctf.star, 3.1+ or older) or CTFFIND4 output file and outputs one CtfEntry
/// (MicrographName, Ctf) per micrograph it lists, to look at or to filter before Set-MicrographCtf -Ctf. A bad file stops
/// with the ErrorId of its <see cref="CtfFileException"/>.
/// </summary>
[Cmdlet(VerbsData.Import, "EmCtf", DefaultParameterSetName = "Path")]
[OutputType(typeof(CtfEntry))]
public sealed class ImportEmCtfCommand : CryoEmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path", ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == "LiteralPath";
        foreach (var path in literal ? LiteralPath : Path)
        {
            string file = ResolveInputFile(path, literal, "Ctf");
            var (entries, _) = CtfFileInput.Read(this, file);
            WriteVerbose($"'{file}': the CTFs of {entries.Count} micrographs.");
            WriteObject(entries, true);
        }
    }
}
