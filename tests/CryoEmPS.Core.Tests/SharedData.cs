namespace CryoEmPS.Core.Tests;

/// <summary>
/// Locates ../shared/data beside the repository (or $CRYOEMPS_SHARED_DATA). Tests that need it use
/// [SharedDataFact]/[SharedDataTheory], which skip with a clear message when it is absent.
/// </summary>
public static class SharedData
{
    public static readonly string? Folder = Find();

    public static bool Available => Folder != null;

    public static string PathOf(string file) => System.IO.Path.Combine(Folder ?? throw new InvalidOperationException("../shared/data is absent."), file);

    public const string SkipMessage = "../shared/data is absent (set CRYOEMPS_SHARED_DATA or put the shared folder beside the repository): interop test skipped.";

    private static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("CRYOEMPS_SHARED_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(System.IO.Path.Combine(dir.FullName, "CryoEmPS.sln"))) dir = dir.Parent;
        if (dir?.Parent == null) return null;
        var data = System.IO.Path.Combine(dir.Parent.FullName, "shared", "data");
        return Directory.Exists(data) ? data : null;
    }
}

public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute() { if (!SharedData.Available) Skip = SharedData.SkipMessage; }
}

public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute() { if (!SharedData.Available) Skip = SharedData.SkipMessage; }
}
