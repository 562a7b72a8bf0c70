using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Commands;

/// <summary>Import-EmImageStack: reads an MRC image stack (.mrcs); nz is the image count whatever ispg says.</summary>
[Cmdlet(VerbsData.Import, "EmImageStack", DefaultParameterSetName = "Path")]
[OutputType(typeof(ImageStack))]
public sealed class ImportEmImageStackCommand : ImportMrcCmdletBase
{
    protected override void Import(string file)
    {
        if (!TryReadMrc(file, MrcReader.ReadImageStack, out var stack))
        {
            return;
        }
        WriteVerbose(stack.ToString());
        WriteObject(stack);
    }
}
