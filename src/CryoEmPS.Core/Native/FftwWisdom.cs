using System.Runtime.InteropServices;

namespace CryoEmPS.Core.Native;

/// <summary>
/// Makes measured (FFTW_PATIENT) plans the same in every process on a machine. FFTW_MEASURE picks an algorithm by
/// timing, so two processes can pick different ones and round differently in the last bit — which would
/// break "same seed ⇒ bit-identical" across runs and a bit-identical resume after a kill. Measured
/// plans are therefore made under an inter-process lock, after importing the shared wisdom file, and the
/// wisdom is written back: the first process on a machine measures, every later one reuses its plans
/// (FFTW_ESTIMATE would be deterministic too, but its plans run the 36×36 transforms slower; see benchmarks/README.md).
/// The file is $CRYOEMPS_FFTW_WISDOM, or ~/.cache/CryoEmPS/fftw3-wisdom-&lt;arch&gt;.txt; set
/// CRYOEMPS_FFTW_WISDOM=off to disable it. Failing to read or write it never fails a computation.
/// </summary>
public static class FftwWisdom
{
    [DllImport(Fftw.SoName, EntryPoint = "fftw_import_wisdom_from_filename")]
    private static extern int ImportFromFile([MarshalAs(UnmanagedType.LPUTF8Str)] string path);

    [DllImport(Fftw.SoName, EntryPoint = "fftw_export_wisdom_to_filename")]
    private static extern int ExportToFile([MarshalAs(UnmanagedType.LPUTF8Str)] string path);

    /// <summary>The shared wisdom file, or null when disabled or no home folder is known.</summary>
    public static string? FilePath { get; } = Resolve();

    private static string? Resolve()
    {
        var env = Environment.GetEnvironmentVariable("CRYOEMPS_FFTW_WISDOM");
        if (!string.IsNullOrEmpty(env))
        {
            return env.Equals("off", StringComparison.OrdinalIgnoreCase) || env == "0" ? null : Path.GetFullPath(env);
        }
        string? cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cache))
        {
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
            {
                return null;
            }
            cache = Path.Combine(home, ".cache");
        }
        return Path.Combine(cache, "CryoEmPS", $"fftw3-wisdom-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}.txt");
    }

    /// <summary>
    /// Runs <paramref name="makePlans"/> (FFTW_PATIENT planning; the caller holds <see cref="Fftw.Planner"/>) with the shared wisdom.
    /// </summary>
    public static void PlanShared(Action makePlans) => PlanShared(FilePath, makePlans);

    /// <summary>As <see cref="PlanShared(Action)"/> with an explicit wisdom file (null = no sharing).</summary>
    public static void PlanShared(string? path, Action makePlans)
    {
        if (path == null)
        {
            makePlans();
            return;
        }
        FileStream? lockFile = null;
        try
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                lockFile = AcquireLock(path + ".lock");
                if (File.Exists(path))
                {
                    ImportFromFile(path);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            makePlans();
            try
            {
                string temporaryPath = path + "." + Environment.ProcessId + ".tmp";
                if (ExportToFile(temporaryPath) != 0)
                {
                    File.Move(temporaryPath, path, overwrite: true);
                }
                else if (File.Exists(temporaryPath))
                {
                    File.Delete(temporaryPath);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        finally
        {
            lockFile?.Dispose();
        }
    }

    private static FileStream? AcquireLock(string lockPath)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException ex) when (IsContention(ex) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
            catch (IOException) // a read-only or full file system, or 60 s of contention: give up on sharing rather than hang
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Whether opening the lock failed because another process holds it (worth waiting for), as opposed to a file system that
    /// refuses the file (read-only: EROFS; full: ENOSPC), where waiting would stall every plan for the whole deadline.
    /// </summary>
    internal static bool IsContention(IOException ex)
    {
        if (ex.GetType() != typeof(IOException))
        {
            return false;
        }
        int code = ex.HResult & 0xFFFF;
        if (OperatingSystem.IsWindows())
        {
            return code == 32 || code == 33; // ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
        }
        return code == (OperatingSystem.IsLinux() ? 11 : 35); // flock's EWOULDBLOCK
    }
}
