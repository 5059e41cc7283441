using System.Diagnostics;
using System.Reflection;

namespace Coral.Infra.Tests.Infra;

/// <summary>The Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 NuGet package (restored with this project).</summary>
public static class BicepCli
{
    public static string RepoRoot { get; } = Metadata("RepoRoot").TrimEnd('/', '\\');

    public static string InfraDir => Path.Combine(RepoRoot, "infra");

    public static string NamesJsonPath => Path.Combine(RepoRoot, "src", "Coral.Pipeline", "Names", "coral-names.json");

    public static string Executable { get; } = Locate();

    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public string AllOutput => StdOut + StdErr;

        /// <summary>Compiler and linter diagnostics ("file(line,col) : Warning|Error code: ...").</summary>
        public IReadOnlyList<string> Diagnostics => AllOutput.Split('\n')
            .Where(l => l.Contains(" : Warning ", StringComparison.Ordinal) || l.Contains(" : Error ", StringComparison.Ordinal)
                        || l.Contains(" : Info ", StringComparison.Ordinal))
            .Select(l => l.Trim()).Distinct().ToList();
    }

    public static Result Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = InfraDir,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // Offline and quiet: no telemetry, no registry look-ups (the templates use no br: modules).
        psi.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + Executable);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("bicep " + string.Join(' ', args) + " did not finish in 3 minutes");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Locate()
    {
        var candidates = new List<string>();
        var dir = Metadata("BicepPackageDir");
        if (!string.IsNullOrEmpty(dir)) candidates.Add(Path.Combine(dir, "tools", "bicep"));
        // Fallback: the NuGet cache (same package, any restored version).
        var nugetRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var pkg = Path.Combine(nugetRoot, "azure.bicep.commandline.linux-x64");
        if (Directory.Exists(pkg))
            candidates.AddRange(Directory.GetDirectories(pkg).OrderDescending().Select(d => Path.Combine(d, "tools", "bicep")));
        var found = candidates.FirstOrDefault(File.Exists)
                    ?? throw new FileNotFoundException("Bicep CLI not found; run `dotnet restore tests/Coral.Infra.Tests`. Looked in: "
                                                       + string.Join(", ", candidates));
        EnsureExecutable(found);
        return found;
    }

    private static void EnsureExecutable(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        // NuGet extracts tools/bicep without guaranteeing the execute bit; add it if missing (we own the cache).
        var mode = File.GetUnixFileMode(path);
        if ((mode & UnixFileMode.UserExecute) == 0) File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute);
    }

    private static string Metadata(string key) =>
        typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException("assembly metadata " + key + " missing");
}
