using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Native;

namespace CryoEmPS.Commands;

/// <summary>
/// Common plumbing for CryoEmPS cmdlets: terminating errors with stable ids, path resolution through
/// the session state, cancellation on Ctrl+C (StopProcessing), throttled progress, and
/// marshalling of messages from worker threads to the pipeline thread.
/// </summary>
public abstract class CryoEmCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _cts = new();
    private DateTime _lastProgress = DateTime.MinValue;

    /// <summary>Cancelled when the user presses Ctrl+C.</summary>
    protected CancellationToken CancellationToken => _cts.Token;

    protected override void StopProcessing() => _cts.Cancel();

    /// <summary>Throws a terminating error with a stable ErrorId (never returns).</summary>
    [DoesNotReturn]
    protected internal void Fail(Exception ex, string errorId, ErrorCategory category, object? target = null)
    {
        ThrowTerminatingError(new ErrorRecord(ex, errorId, category, target));
        // ThrowTerminatingError always throws, but it is not annotated as such.
        throw new UnreachableException();
    }

    /// <summary>
    /// Throws a terminating error with a stable ErrorId and an ArgumentException of <paramref name="message"/> (never returns).
    /// </summary>
    [DoesNotReturn]
    protected internal void Fail(string message, string errorId, ErrorCategory category, object? target = null)
        => Fail(new ArgumentException(message), errorId, category, target);

    /// <summary>Resolves an existing file from -Path (wildcards allowed, must match exactly one) or -LiteralPath.</summary>
    protected string ResolveInputFile(string path, bool literal, string errorPrefix)
    {
        string? file = null;
        try
        {
            if (literal)
            {
                string providerPath = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
                if (Directory.Exists(providerPath))
                {
                    Fail(new IOException($"'{providerPath}' is a folder; give the path of a file in it."), errorPrefix + "PathIsFolder",
                        ErrorCategory.InvalidArgument, path);
                }
                if (!File.Exists(providerPath))
                {
                    throw new FileNotFoundException($"The file '{providerPath}' does not exist.", providerPath);
                }
                file = providerPath;
            }
            else
            {
                var resolved = GetResolvedProviderPathFromPSPath(path, out var provider);
                if (provider.Name != "FileSystem")
                {
                    throw new ArgumentException($"'{path}' is not a file-system path.");
                }
                if (resolved.Count != 1)
                {
                    throw new ArgumentException($"'{path}' matches {resolved.Count} files; give exactly one.");
                }
                if (Directory.Exists(resolved[0]))
                {
                    Fail(new IOException($"'{resolved[0]}' is a folder; give the path of a file in it."), errorPrefix + "PathIsFolder",
                        ErrorCategory.InvalidArgument, path);
                }
                if (!File.Exists(resolved[0]))
                {
                    throw new FileNotFoundException($"'{resolved[0]}' is not a file.", resolved[0]);
                }
                file = resolved[0];
            }
        }
        catch (ItemNotFoundException ex)
        {
            Fail(new FileNotFoundException(ex.Message, path, ex), errorPrefix + "FileNotFound", ErrorCategory.ObjectNotFound, path);
        }
        catch (FileNotFoundException ex)
        {
            Fail(ex, errorPrefix + "FileNotFound", ErrorCategory.ObjectNotFound, path);
        }
        catch (ArgumentException ex)
        {
            Fail(ex, errorPrefix + "InvalidPath", ErrorCategory.InvalidArgument, path);
        }
        return file;
    }

    /// <summary>Resolves an output path (need not exist; its folder must).</summary>
    protected string ResolveOutputFile(string path, string errorPrefix)
    {
        string providerPath = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
        string? folder = Path.GetDirectoryName(providerPath);
        if (string.IsNullOrEmpty(folder) || !Directory.Exists(folder))
        {
            Fail(new DirectoryNotFoundException($"The folder of '{providerPath}' does not exist. Create it first."),
                errorPrefix + "FolderNotFound", ErrorCategory.ObjectNotFound, path);
        }
        if (Directory.Exists(providerPath))
        {
            Fail(new IOException($"'{providerPath}' is a folder; give a file name."), errorPrefix + "PathIsFolder",
                ErrorCategory.InvalidArgument, path);
        }
        return providerPath;
    }

    /// <summary>
    /// Writes a file atomically after ShouldProcess; refuses to overwrite without <paramref name="force"/>
    /// (ErrorId <c>{prefix}AlreadyExists</c>). Returns false when ShouldProcess declined.
    /// </summary>
    protected bool WriteFileAtomically(string resolvedPath, bool force, string errorPrefix, string what, Action<Stream> write)
    {
        if (World.Rank != 0)
        {
            // Under MPI every rank runs the same script; rank 0 alone writes, so the ranks do not race for one file.
            WriteVerbose($"MPI rank {World.Rank} of {World.Size}: '{resolvedPath}' is not written here (only rank 0 writes files).");
            return false;
        }

        if (!ShouldProcess(resolvedPath, what))
        {
            return false;
        }
        if (File.Exists(resolvedPath) && !force)
        {
            Fail(new FileAlreadyExistsException(resolvedPath), errorPrefix + "AlreadyExists", ErrorCategory.ResourceExists, resolvedPath);
        }
        try
        {
            AtomicFile.Write(resolvedPath, write, overwrite: force);
        }
        catch (FileAlreadyExistsException ex)
        {
            Fail(ex, errorPrefix + "AlreadyExists", ErrorCategory.ResourceExists, resolvedPath);
        }
        catch (IOException ex)
        {
            Fail(ex, errorPrefix + "WriteFailed", ErrorCategory.WriteError, resolvedPath);
        }
        catch (UnauthorizedAccessException ex)
        {
            Fail(ex, errorPrefix + "AccessDenied", ErrorCategory.PermissionDenied, resolvedPath);
        }
        return true;
    }

    /// <summary>
    /// This process's MPI world (issue 13): rank 0 of 1 unless started by mpirun/srun. Started by one without a loadable
    /// OpenMPI, a terminating MpiLibraryMissing error.
    /// </summary>
    protected internal ICommunicator World
    {
        get
        {
            try
            {
                return Mpi.World;
            }
            catch (NativeLibraryMissingException ex)
            {
                Fail($"This process was started by an MPI launcher (mpirun or srun), but OpenMPI's '{ex.SoName}' could not be loaded. " +
                    $"Install it with: sudo apt-get install {ex.DebianPackage} — or set CRYOEMPS_MPI=0 to run every process alone.",
                    "MpiLibraryMissing", ErrorCategory.NotInstalled, ex.SoName);
                throw;
            }
        }
    }

    /// <summary>Writes progress at most ~4 times a second (always when <paramref name="force"/>).</summary>
    protected void Progress(int activityId, string activity, string status, int percent, int secondsRemaining = -1, bool force = false)
    {
        var now = DateTime.UtcNow;
        if (!force && (now - _lastProgress).TotalMilliseconds < 250)
        {
            return;
        }
        _lastProgress = now;
        var record = new ProgressRecord(activityId, activity, status)
        {
            PercentComplete = Math.Clamp(percent, 0, 100),
            SecondsRemaining = secondsRemaining,
        };
        WriteProgress(record);
    }

    protected void ProgressCompleted(int activityId, string activity)
        => WriteProgress(new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });

    /// <summary>Runs native-library checks and turns a missing library into a terminating error.</summary>
    protected void RequireNative(bool fftw = true, bool blas = false)
    {
        try
        {
            if (fftw)
            {
                Fftw.EnsureLoaded();
            }
            if (blas)
            {
                Blas.EnsureLoaded();
            }
        }
        catch (NativeLibraryMissingException ex)
        {
            Fail(ex, "NativeLibraryMissing", ErrorCategory.NotInstalled, ex.SoName);
        }
    }

    /// <summary>
    /// Runs Core work on a worker thread while this (pipeline) thread hands the work's reports to
    /// <paramref name="onReport"/>, so only the pipeline thread calls Write*. Exceptions from the
    /// work are rethrown here unwrapped; Ctrl+C cancels <see cref="CancellationToken"/>.
    /// </summary>
    protected TResult RunPumped<TReport, TResult>(Func<IProgress<TReport>, CancellationToken, TResult> work, Action<TReport> onReport)
    {
        using var queue = new System.Collections.Concurrent.BlockingCollection<TReport>();
        var progress = new QueueProgress<TReport>(queue);
        var task = Task.Run(() =>
        {
            try
            {
                return work(progress, CancellationToken);
            }
            finally
            {
                queue.CompleteAdding();
            }
        });
        foreach (var report in queue.GetConsumingEnumerable())
        {
            onReport(report);
        }
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    private sealed class QueueProgress<T> : IProgress<T>
    {
        private readonly System.Collections.Concurrent.BlockingCollection<T> _q;
        public QueueProgress(System.Collections.Concurrent.BlockingCollection<T> q) => _q = q;
        public void Report(T value)
        {
            if (!_q.IsAddingCompleted)
            {
                try
                {
                    _q.Add(value);
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
    }

    /// <summary>Stops with ErrorId <c>VolumeNotFinite</c> when a voxel of <paramref name="volume"/> is NaN or infinite.</summary>
    protected internal void RequireFiniteVolume(CryoEmPS.Core.Volumes.Volume volume, string role)
    {
        if (InputChecks.NonFiniteVoxel(volume, role) is string message)
        {
            Fail(message, "VolumeNotFinite", ErrorCategory.InvalidData, volume);
        }
    }

    /// <summary>Draws a seed when none was given, so every run can be repeated.</summary>
    protected static int DrawSeed() => Random.Shared.Next(1, int.MaxValue);
}
