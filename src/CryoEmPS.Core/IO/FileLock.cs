namespace CryoEmPS.Core.IO;

/// <summary>
/// An exclusive, advisory lock on a file among the processes (and runspaces) that use this class: a lock file opened with
/// <see cref="FileShare.None"/> (flock(2) on Unix, a sharing lock on Windows). The operating system drops the lock when its
/// holder exits, even by kill -9, so a killed run never leaves a stale lock; the lock file itself stays (empty) and is reused.
/// </summary>
public sealed class FileLock : IDisposable
{
    private readonly FileStream _stream;

    private FileLock(string lockPath, FileStream stream)
    {
        LockPath = lockPath;
        _stream = stream;
    }

    /// <summary>The lock file.</summary>
    public string LockPath { get; }

    /// <summary>The lock file of <paramref name="path"/>: <c>.&lt;name&gt;.lock</c> beside it.</summary>
    public static string LockPathOf(string path)
    {
        string full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full) ?? ".", "." + Path.GetFileName(full) + ".lock");
    }

    /// <summary>
    /// Takes the lock of <paramref name="path"/> without waiting; throws <see cref="FileLockedException"/> when another
    /// holder has it.
    /// </summary>
    public static FileLock Acquire(string path, string what)
    {
        string lockPath = LockPathOf(path);
        try
        {
            var stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            return new FileLock(lockPath, stream);
        }
        catch (IOException ex) when (IsSharingViolation(ex))
        {
            throw new FileLockedException(path,
                $"{what} '{Path.GetFullPath(path)}' is in use by another run (its lock file '{lockPath}' is held). " +
                "Two runs must not share one file: wait for the other run to finish, or give this run another path.", ex);
        }
    }

    /// <summary>
    /// Whether an exception from opening a file says another holder has it (a sharing violation), as opposed to a file system
    /// that refuses the file (read-only, no space), which waiting would not cure.
    /// </summary>
    public static bool IsSharingViolation(IOException ex)
    {
        if (ex.GetType() != typeof(IOException))
        {
            return false;
        }
        // Windows: ERROR_SHARING_VIOLATION (32), ERROR_LOCK_VIOLATION (33). Unix: flock's EWOULDBLOCK as the errno (11 on Linux,
        // 35 on macOS and the BSDs). A read-only file system (EROFS) or a full disk is none of these.
        int code = ex.HResult & 0xFFFF;
        if (OperatingSystem.IsWindows())
        {
            return code == 32 || code == 33;
        }
        return code == (OperatingSystem.IsLinux() ? 11 : 35);
    }

    public void Dispose() => _stream.Dispose();
}
