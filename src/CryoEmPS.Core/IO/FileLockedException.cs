namespace CryoEmPS.Core.IO;

/// <summary>Another run holds the lock of a file (see <see cref="FileLock"/>).</summary>
public sealed class FileLockedException : IOException
{
    public FileLockedException(string path, string message, Exception? inner = null)
        : base(message, inner)
    {
        Path = path;
    }

    public string Path { get; }
}
