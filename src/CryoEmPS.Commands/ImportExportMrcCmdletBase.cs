using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Numerics;

namespace CryoEmPS.Commands;

/// <summary>
/// Shared plumbing of the Import-* MRC cmdlets: -Path (wildcards, any number of matches) / -LiteralPath
/// (aliases PSPath, LP; binds FullName/PSPath from Get-ChildItem), and MrcFormatException → ErrorId
/// "Mrc&lt;Reason&gt;" (MrcTruncated, MrcInvalidHeader, MrcUnsupportedMode, MrcInvalidDimensions,
/// MrcExtendedHeaderPastEnd, MrcDataSizeMismatch, MrcInvalidLabel). Every failure belongs to one path or one file and is
/// non-terminating (WriteError): a batch (-Path *.mrc, piped Get-ChildItem) reads every other file.
/// </summary>
public abstract class ImportMrcCmdletBase : CryoEmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path", ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == "LiteralPath";
        foreach (var path in literal ? LiteralPath : Path)
        {
            foreach (var file in ResolveFiles(path, literal))
            {
                CancellationToken.ThrowIfCancellationRequested();
                Import(file);
            }
        }
    }

    /// <summary>Reads one resolved file and writes its objects.</summary>
    protected abstract void Import(string file);

    /// <summary>The files of one -Path or -LiteralPath; a path that names no file is a non-terminating error.</summary>
    private List<string> ResolveFiles(string path, bool literal)
    {
        var files = new List<string>();
        try
        {
            if (literal)
            {
                files.Add(SessionState.Path.GetUnresolvedProviderPathFromPSPath(path));
            }
            else
            {
                var resolved = GetResolvedProviderPathFromPSPath(path, out var provider);
                if (provider.Name != "FileSystem")
                {
                    PathError($"'{path}' is not a file-system path. Give the path of an MRC file.", "MrcInvalidPath", path);
                    return files;
                }
                bool wildcard = WildcardPattern.ContainsWildcardCharacters(path);
                files.AddRange(wildcard ? resolved.Where(File.Exists) : resolved);
                if (files.Count == 0)
                {
                    var notFound = new FileNotFoundException($"No file matches '{path}'. Check the path and the wildcard.", path);
                    WriteError(new ErrorRecord(notFound, "MrcFileNotFound", ErrorCategory.ObjectNotFound, path));
                    return files;
                }
            }
        }
        catch (ItemNotFoundException ex)
        {
            var notFound = new FileNotFoundException(ex.Message, path, ex);
            WriteError(new ErrorRecord(notFound, "MrcFileNotFound", ErrorCategory.ObjectNotFound, path));
            return files;
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or ProviderNotFoundException
            or System.Management.Automation.DriveNotFoundException)
        {
            PathError(ex.Message, "MrcInvalidPath", path);
            return files;
        }
        var existing = new List<string>();
        foreach (var file in files)
        {
            if (Directory.Exists(file))
            {
                WriteError(new ErrorRecord(new IOException($"'{file}' is a folder; give the path of a file in it."), "MrcPathIsFolder",
                    ErrorCategory.InvalidArgument, path));
            }
            else if (!File.Exists(file))
            {
                WriteError(new ErrorRecord(new FileNotFoundException($"The file '{file}' does not exist.", file), "MrcFileNotFound",
                    ErrorCategory.ObjectNotFound, path));
            }
            else
            {
                existing.Add(file);
            }
        }
        return existing;
    }

    /// <summary>
    /// Warns when the header's cell gives different sampling along x, y (and z for a volume): the module keeps one voxel
    /// size (the x one, cella.x / mx), so say so instead of collapsing the others silently.
    /// </summary>
    protected void WarnIfNonCubicVoxel(string file, bool checkZ)
    {
        MrcHeader header;
        try
        {
            header = MrcReader.ReadHeader(file);
        }
        catch (IOException)
        {
            return; // the reader itself reports what is wrong with the file
        }
        double x = MrcHeader.VoxelSizeFromCell(header.CellX, header.Mx);
        double y = MrcHeader.VoxelSizeFromCell(header.CellY, header.My);
        double z = MrcHeader.VoxelSizeFromCell(header.CellZ, header.Mz);
        bool Differs(double other) => other > 0 && x > 0 && Math.Abs(other - x) > 1e-4 * x;
        if (Differs(y) || (checkZ && Differs(z)))
        {
            string sizes = checkZ ? $"{x:0.####} x {y:0.####} x {z:0.####} Å (x, y, z)" : $"{x:0.####} x {y:0.####} Å (x, y)";
            WriteWarning($"'{file}' has non-cubic voxels of {sizes}; CryoEmPS keeps one voxel size, {x:0.####} Å (along x), for " +
                $"every axis. Resample the map to cubic voxels first if the difference matters.");
        }
    }

    private void PathError(string message, string errorId, string path)
        => WriteError(new ErrorRecord(new ArgumentException(message), errorId, ErrorCategory.InvalidArgument, path));

    /// <summary>
    /// Runs a reader; a failure is a non-terminating error with a stable ErrorId (the next file is read) and returns false.
    /// </summary>
    protected bool TryReadMrc<T>(string file, Func<string, T> read, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? value)
    {
        WriteVerbose($"Reading '{file}'.");
        value = default;
        ErrorRecord? error = null;
        try
        {
            value = read(file);
            return value != null;
        }
        catch (MrcFormatException ex)
        {
            error = new ErrorRecord(ex, ex.ErrorId, ErrorCategory.InvalidData, file);
        }
        catch (MemoryLimitException ex)
        {
            error = new ErrorRecord(new IOException($"'{file}': {ex.Message}", ex), ex.ErrorId, ErrorCategory.LimitsExceeded, file);
        }
        catch (UnauthorizedAccessException ex)
        {
            error = new ErrorRecord(ex, "MrcAccessDenied", ErrorCategory.PermissionDenied, file);
        }
        catch (IOException ex)
        {
            error = new ErrorRecord(ex, "MrcReadFailed", ErrorCategory.ReadError, file);
        }
        if (ReadErrorsTerminate)
        {
            ThrowTerminatingError(error);
        }
        WriteError(error);
        return false;
    }

    /// <summary>True: a file that cannot be read is a terminating error (Import-Micrograph -RankShare), not the usual non-terminating one.</summary>
    protected bool ReadErrorsTerminate { get; set; }
}

/// <summary>
/// Shared plumbing of the Export-* cmdlets: -Path / -LiteralPath (aliases PSPath, LP), -Force, -PassThru,
/// ShouldProcess, atomic writes. File ErrorIds are &lt;prefix&gt;AlreadyExists, &lt;prefix&gt;FolderNotFound,
/// &lt;prefix&gt;PathIsFolder, &lt;prefix&gt;WriteFailed, &lt;prefix&gt;AccessDenied.
/// </summary>
public abstract class ExportFileCmdletBase : CryoEmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath")]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Emit the FileInfo of the file written.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected string TargetPath => ParameterSetName == "LiteralPath" ? LiteralPath : Path;

    private int _inputs;

    /// <summary>
    /// One object goes into one file: call this in ProcessRecord and write in EndProcessing, so a second piped
    /// object fails (<paramref name="errorId"/>) before anything is written.
    /// </summary>
    protected void AcceptSingleInput(object input, string what, string errorId)
    {
        if (++_inputs > 1)
        {
            Fail($"More than one {what} was given for the single file '{TargetPath}'; nothing was written. " +
                $"Export each {what} to its own path (e.g. with ForEach-Object).",
                errorId, ErrorCategory.InvalidArgument, input);
        }
    }

    /// <summary>
    /// Resolves the target, writes it atomically after ShouldProcess, maps an ArgumentException thrown by
    /// <paramref name="write"/> (data that cannot be stored) to <paramref name="invalidDataErrorId"/>, and
    /// emits the FileInfo with -PassThru. Returns the path written, or null when ShouldProcess declined.
    /// </summary>
    protected string? WriteTarget(string prefix, string what, Action<Stream> write, string invalidDataErrorId)
    {
        if (ParameterSetName != "LiteralPath" && WildcardPattern.ContainsWildcardCharacters(Path))
        {
            Fail($"-Path '{Path}' contains wildcard characters (* ? [ ]), but an output file needs one exact name. " +
                $"Give the exact file name, or use -LiteralPath to create a file whose name contains these characters.",
                prefix + "PathHasWildcard", ErrorCategory.InvalidArgument, Path);
        }
        string resolved = ResolveOutputFile(TargetPath, prefix);
        bool written = false;
        try
        {
            written = WriteFileAtomically(resolved, Force.IsPresent, prefix, what, write);
        }
        catch (ArgumentException ex)
        {
            Fail(ex, invalidDataErrorId, ErrorCategory.InvalidData, resolved);
        }
        if (written)
        {
            WriteVerbose($"Wrote '{resolved}'.");
            // Through the provider, so the FileInfo carries PSPath etc. and shows like Get-Item's (mode, size).
            if (PassThru)
            {
                WriteObject(InvokeProvider.Item.Get(new[] { resolved }, true, true), true);
            }
        }
        return written ? resolved : null;
    }
}
