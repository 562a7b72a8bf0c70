using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace CryoEmPS.Commands;

/// <summary>
/// Finds the native libraries of the chart packages (libSkiaSharp, libHarfBuzzSharp) in the module's
/// runtimes/&lt;rid&gt;/native folder. A PowerShell module has no deps.json that would tell .NET where they are, so without
/// this Export-EmPicture's charts would fail with DllNotFoundException.
/// </summary>
public sealed class NativeAssetResolver : IModuleAssemblyInitializer
{
    private static int _registered;

    public void OnImport()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            AssemblyLoadContext.Default.ResolvingUnmanagedDll += Resolve;
        }
    }

    private static IntPtr Resolve(Assembly assembly, string name)
    {
        if (!name.Contains("SkiaSharp", StringComparison.OrdinalIgnoreCase) && !name.Contains("HarfBuzz", StringComparison.OrdinalIgnoreCase))
        {
            return IntPtr.Zero;
        }
        string folder = Path.GetDirectoryName(typeof(NativeAssetResolver).Assembly.Location) ?? "";
        string file = name.StartsWith("lib", StringComparison.Ordinal) || OperatingSystem.IsWindows() ? name : "lib" + name;
        string extension = OperatingSystem.IsWindows() ? ".dll" : OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        if (!file.EndsWith(extension, StringComparison.Ordinal))
        {
            file += extension;
        }
        foreach (string rid in RuntimeIds())
        {
            string candidate = Path.Combine(folder, "runtimes", rid, "native", file);
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out IntPtr handle))
            {
                return handle;
            }
        }
        return IntPtr.Zero;
    }

    private static IEnumerable<string> RuntimeIds()
    {
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        if (OperatingSystem.IsWindows())
        {
            yield return "win-" + arch;
        }
        else if (OperatingSystem.IsMacOS())
        {
            yield return "osx";
            yield return "osx-" + arch;
        }
        else
        {
            bool musl = File.Exists("/etc/alpine-release");
            yield return (musl ? "linux-musl-" : "linux-") + arch;
            yield return "linux-" + arch;
        }
    }
}
