namespace CryoEmPS.Core.IO;

/// <summary>The output file exists and overwriting was not allowed.</summary>
public sealed class FileAlreadyExistsException : IOException
{
    public FileAlreadyExistsException(string path)
        : base($"The file '{path}' already exists. Use -Force to overwrite it, or choose another path.")
    {
        Path = path;
    }

    public string Path { get; }
}
