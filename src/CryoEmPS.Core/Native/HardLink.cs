using System.Runtime.InteropServices;

namespace CryoEmPS.Core.Native;

/// <summary>
/// link(2) from the C library, for a rename that never replaces: <c>link(temporary, target)</c> fails with EEXIST when the
/// target exists, atomically, where .NET's <c>File.Move(…, overwrite: false)</c> on Unix checks for the target and then
/// renames (two writers can both pass the check and the second silently replaces the first).
/// </summary>
public static class HardLink
{
    private const int Eexist = 17; // the same on Linux and macOS

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string existing, [MarshalAs(UnmanagedType.LPUTF8Str)] string link);

    /// <summary>Whether <see cref="TryCreate"/> can be used here (Linux, macOS, FreeBSD).</summary>
    public static bool IsSupported => !OperatingSystem.IsWindows();

    /// <summary>
    /// Makes <paramref name="target"/> a second name of <paramref name="existing"/>. Returns Created, Exists (the target exists;
    /// nothing changed) or Unsupported (the file system has no hard links, or the C library is not reachable).
    /// </summary>
    public static HardLinkResult TryCreate(string existing, string target)
    {
        int result;
        try
        {
            result = Link(existing, target);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return HardLinkResult.Unsupported;
        }
        if (result == 0)
        {
            return HardLinkResult.Created;
        }
        return Marshal.GetLastPInvokeError() == Eexist ? HardLinkResult.Exists : HardLinkResult.Unsupported;
    }
}
