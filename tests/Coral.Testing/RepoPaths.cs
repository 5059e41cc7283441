namespace Coral.Testing;

/// <summary>Locates files in the repository from a test's bin folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CoralFunctions.sln"))) return dir.FullName;
        throw new InvalidOperationException("CoralFunctions.sln not found above " + AppContext.BaseDirectory);
    }
}
