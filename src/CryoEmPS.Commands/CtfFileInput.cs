using System.Management.Automation;
using CryoEmPS.Core.IO;

namespace CryoEmPS.Commands;

/// <summary>Reads a RELION STAR or CTFFIND4 file for Import-EmCtf and Set-MicrographCtf, with their shared ErrorIds.</summary>
internal static class CtfFileInput
{
    /// <summary>The file's entries and whether it is a CTFFIND4 file; a bad or unreadable file is a terminating error.</summary>
    public static (IReadOnlyList<CtfEntry> Entries, bool Ctffind) Read(CryoEmCmdlet cmdlet, string file)
    {
        try
        {
            string text = File.ReadAllText(file);
            return (CtfFile.Parse(text, file), !CtfFile.IsStar(text) && CtfFile.IsCtffind(text));
        }
        catch (CtfFileException ex)
        {
            cmdlet.Fail(ex, ex.ErrorId, ErrorCategory.InvalidData, file);
        }
        catch (UnauthorizedAccessException ex)
        {
            cmdlet.Fail(ex, "CtfAccessDenied", ErrorCategory.PermissionDenied, file);
        }
        catch (IOException ex)
        {
            cmdlet.Fail(ex, "CtfReadFailed", ErrorCategory.ReadError, file);
        }

        return default;
    }
}
