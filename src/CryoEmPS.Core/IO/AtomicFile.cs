using System.Diagnostics;
using System.Globalization;
using CryoEmPS.Core.Native;

namespace CryoEmPS.Core.IO;

/// <summary>
/// Writes a file so that a failure never leaves half of it: the bytes go to a hidden temporary file in the same folder
/// (<c>.&lt;name&gt;.&lt;process id&gt;.&lt;random&gt;.tmp</c>), which is flushed and then renamed onto the target. Without
/// overwrite the rename never replaces: the temporary file is hard-linked to the target (link(2) fails atomically when the
/// target exists), so of several concurrent writers exactly one wins and the others get
/// <see cref="FileAlreadyExistsException"/>. Temporary files of the same target left by a killed process (its process id
/// no longer runs on this machine) are removed by the next write; on a folder shared between machines a live writer elsewhere
/// could lose its temporary file, so concurrent writers there should share one machine.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>. With <paramref name="overwrite"/> false an existing file raises <see cref="IOException"/> and is left untouched.</summary>
    public static void Write(string path, Action<Stream> write, bool overwrite)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        string name = Path.GetFileName(full);
        if (!Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"The folder '{dir}' does not exist.");
        }
        if (!overwrite && File.Exists(full))
        {
            throw new FileAlreadyExistsException(full);
        }
        RemoveStaleTemporaries(dir, name);
        string tmp = Path.Combine(dir, TemporaryName(name, Environment.ProcessId, Guid.NewGuid().ToString("N")[..8]));
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            Commit(tmp, full, overwrite);
        }
        catch (Exception ex)
        {
            try
            {
                if (File.Exists(tmp))
                {
                    File.Delete(tmp);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
            // The user named the target, not the hidden temporary file: say what could not be written.
            if (ex is IOException and not FileAlreadyExistsException && ex.Message.Contains(tmp, StringComparison.Ordinal))
            {
                throw new IOException($"Could not write '{full}': {Describe(ex.Message, tmp)}", ex);
            }
            if (ex is UnauthorizedAccessException && ex.Message.Contains(tmp, StringComparison.Ordinal))
            {
                throw new UnauthorizedAccessException($"Could not write '{full}': access to its folder '{dir}' is denied.", ex);
            }
            throw;
        }
    }

    /// <summary>The temporary file name for <paramref name="name"/>: <c>.&lt;name&gt;.&lt;pid&gt;.&lt;tag&gt;.tmp</c>.</summary>
    internal static string TemporaryName(string name, int processId, string tag)
        => "." + name + "." + processId.ToString(CultureInfo.InvariantCulture) + "." + tag + ".tmp";

    /// <summary>
    /// Removes the temporary files of <paramref name="name"/> whose writing process no longer runs (left by a killed process);
    /// those of running processes, this one included, are in use and kept. Returns how many were removed.
    /// </summary>
    public static int RemoveStaleTemporaries(string dir, string name)
    {
        int removed = 0;
        string prefix = "." + name + ".";
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(dir, prefix + "*.tmp").ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        foreach (var file in candidates)
        {
            string middle = Path.GetFileName(file)[prefix.Length..^".tmp".Length];
            int dot = middle.IndexOf('.');
            if (dot <= 0 || !int.TryParse(middle[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int processId)
                || IsRunning(processId))
            {
                continue;
            }
            try
            {
                File.Delete(file);
                removed++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        return removed;
    }

    private static bool IsRunning(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Renames the finished temporary file onto the target; without overwrite, never replaces an existing target.</summary>
    private static void Commit(string tmp, string full, bool overwrite)
    {
        if (overwrite)
        {
            File.Move(tmp, full, overwrite: true);
            return;
        }
        if (HardLink.IsSupported)
        {
            switch (HardLink.TryCreate(tmp, full))
            {
                case HardLinkResult.Created:
                    File.Delete(tmp);
                    return;
                case HardLinkResult.Exists:
                    throw new FileAlreadyExistsException(full);
            }
        }
        // Windows (MoveFileEx without REPLACE_EXISTING is atomic) or a file system without hard links.
        try
        {
            File.Move(tmp, full, overwrite: false);
        }
        catch (IOException) when (File.Exists(full))
        {
            throw new FileAlreadyExistsException(full);
        }
    }

    private static string Describe(string message, string tmp)
    {
        string reason = message.Replace($" : '{tmp}'", "", StringComparison.Ordinal)
            .Replace($"'{tmp}'", "its temporary file", StringComparison.Ordinal)
            .Replace(tmp, "its temporary file", StringComparison.Ordinal)
            .Trim();
        return reason.EndsWith('.') ? reason : reason + ".";
    }
}
