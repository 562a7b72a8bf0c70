namespace CryoEmPS.Core.IO;

/// <summary>
/// Writes a file so that a failure never leaves half of it: the bytes go to a temporary file in the
/// same folder, which is flushed and then renamed over the target.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>. With <paramref name="overwrite"/> false an existing file raises <see cref="IOException"/> and is left untouched.</summary>
    public static void Write(string path, Action<Stream> write, bool overwrite)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"The folder '{dir}' does not exist.");
        if (!overwrite && File.Exists(full)) throw new FileAlreadyExistsException(full);
        string tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite);
        }
        catch
        {
            try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }
}

/// <summary>The output file exists and overwriting was not allowed.</summary>
public sealed class FileAlreadyExistsException : IOException
{
    public FileAlreadyExistsException(string path)
        : base($"The file '{path}' already exists. Use -Force to overwrite it, or choose another path.") { Path = path; }
    public string Path { get; }
}
