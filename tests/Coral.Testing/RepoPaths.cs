namespace Coral.Testing;

/// <summary>Locates files in the repository from a test's bin folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>
    /// A src project's build output for the configuration and framework this test was built with
    /// (bin/Debug/net10.0 under the test project ↔ src/{project}/bin/Debug/net10.0).
    /// </summary>
    public static string BuildOutput(string project)
    {
        var parts = Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory).Split(Path.DirectorySeparatorChar);
        return Combine(["src", project, .. parts[^3..]]);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CoralFunctions.sln"))) return dir.FullName;
        throw new InvalidOperationException("CoralFunctions.sln not found above " + AppContext.BaseDirectory);
    }
}
