namespace CryoEmPS.Core.Native;

/// <summary>A native library (FFTW or OpenBLAS) could not be loaded. The message names the Debian package to install.</summary>
public sealed class NativeLibraryMissingException : Exception
{
    public NativeLibraryMissingException(string soname, string debianPackage, Exception? inner = null)
        : base($"The native library '{soname}' could not be loaded. CryoEmPS needs it for its numerics. " +
               $"Install it with: sudo apt-get install {debianPackage}", inner)
    {
        SoName = soname;
        DebianPackage = debianPackage;
    }

    public string SoName { get; }
    public string DebianPackage { get; }
}
