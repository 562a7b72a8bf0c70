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
        ImageStack? stack;
        if (star)
        {
            WriteVerbose($"Reading '{file}'.");
            stack = ReadStar(file);
        }
        else if (TryReadMrc(file, MrcReader.ReadImageStack, out var read))
        {
            stack = read;
            WarnIfNonCubicVoxel(file, checkZ: false);
        }
        else
        {
            stack = null;
        }

        if (stack == null)
        {
            return; // the error is written; the next file of the batch is read
        }
        WriteVerbose(stack.ToString());
        WriteObject(stack);
    }

    /// <summary>The stack a particle STAR file names, or null after a non-terminating error (the batch goes on).</summary>
    private ImageStack? ReadStar(string file)
    {
        var warnings = new List<string>();
        ImageStack? stack = null;
        try
        {
            stack = StarImageStack.Read(file, SessionState.Path.CurrentFileSystemLocation.ProviderPath, warnings.Add);
        }
        catch (MrcFormatException ex)
        {
            return Error(ex, ex.ErrorId, ErrorCategory.InvalidData, file);
        }
        catch (StarFormatException ex)
        {
            return Error(ex, "StarInvalidFormat", ErrorCategory.InvalidData, file);
        }
        catch (FileNotFoundException ex)
        {
            return Error(ex, "StarImageFileNotFound", ErrorCategory.ObjectNotFound, file);
        }
        catch (IOException ex)
        {
            return Error(ex, "StarReadFailed", ErrorCategory.ReadError, file);
        }
        foreach (var warning in warnings)
        {
            WriteWarning(warning);
        }
        return stack;
    }

    private ImageStack? Error(Exception exception, string errorId, ErrorCategory category, string file)
    {
        WriteError(new ErrorRecord(exception, errorId, category, file));
        return null;
    }
}
