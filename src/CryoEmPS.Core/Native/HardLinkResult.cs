namespace CryoEmPS.Core.Native;

/// <summary>The outcome of <see cref="HardLink.TryCreate"/>.</summary>
public enum HardLinkResult
{
    /// <summary>The target now names the file.</summary>
    Created,
    /// <summary>The target exists; nothing changed.</summary>
    Exists,
    /// <summary>No hard link could be made (file system without hard links, no C library); nothing changed.</summary>
    Unsupported,
}
