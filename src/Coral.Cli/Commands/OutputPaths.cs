namespace Coral.Cli.Commands;

/// <summary>Output paths checked before any work starts: a run must not end, after minutes of sampling, on "file exists".</summary>
internal static class OutputPaths
{
    /// <summary>A folder to write into: it may exist as a folder, never as a file; its parent must be a folder.</summary>
    public static string Folder(string path, string option)
    {
        if (System.IO.File.Exists(path)) throw new ArgumentException($"{option}: {path} is a file; give a folder to write into");
        CheckParent(path, option);
        return path;
    }

    /// <summary>A file to (over)write: never an existing folder; its parent must be a folder (it is created if missing).</summary>
    public static string File(string path, string option)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"{option}: {path} is a folder; give a file name (for example {Path.Combine(path, "out.jsonl")})");
        CheckParent(path, option);
        return path;
    }

    private static void CheckParent(string path, string option)
    {
        for (var dir = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if (System.IO.File.Exists(dir)) throw new ArgumentException($"{option}: {dir} is a file, so {path} cannot be written");
            if (Directory.Exists(dir)) return;
        }
    }
}
