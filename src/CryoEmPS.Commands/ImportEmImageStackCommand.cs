using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Commands;

/// <summary>
/// Import-EmImageStack: reads an MRC image stack (.mrcs; nz is the image count whatever ispg says), or the images a RELION
/// particle STAR file (.star) names, in its row order, with its rotations attached.
/// </summary>
[Cmdlet(VerbsData.Import, "EmImageStack", DefaultParameterSetName = "Path")]
[OutputType(typeof(ImageStack))]
public sealed class ImportEmImageStackCommand : ImportMrcCmdletBase
{
    protected override void Import(string file)
    {
        bool star = file.EndsWith(".star", StringComparison.OrdinalIgnoreCase);
        var stack = star ? ReadStar(file) : ReadMrc(file, MrcReader.ReadImageStack);
        if (!star)
        {
            WarnIfNonCubicVoxel(file, checkZ: false);
        }
        WriteVerbose(stack.ToString());
        WriteObject(stack);
    }

    private ImageStack ReadStar(string file)
    {
        var warnings = new List<string>();
        ImageStack? stack = null;
        try
        {
            stack = StarImageStack.Read(file, SessionState.Path.CurrentFileSystemLocation.ProviderPath, warnings.Add);
        }
        catch (MrcFormatException ex)
        {
            Fail(ex, ex.ErrorId, ErrorCategory.InvalidData, file);
        }
        catch (StarFormatException ex)
        {
            Fail(ex, "StarInvalidFormat", ErrorCategory.InvalidData, file);
        }
        catch (FileNotFoundException ex)
        {
            Fail(ex, "StarImageFileNotFound", ErrorCategory.ObjectNotFound, file);
        }
        catch (IOException ex)
        {
            Fail(ex, "StarReadFailed", ErrorCategory.ReadError, file);
        }
        foreach (var warning in warnings)
        {
            WriteWarning(warning);
        }
        return stack!;
    }
}
