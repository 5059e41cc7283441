using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Coral.LocalHost.Azurite;

/// <summary>How <see cref="AzuriteServer.StartAsync(AzuriteStartOptions, TimeSpan?, CancellationToken)"/> runs Azurite.</summary>
/// <param name="Location">Folder for the data on disk; null = in memory (gone when it stops).</param>
/// <param name="BlobPort">0 = a free port chosen by the OS.</param>
public sealed record AzuriteStartOptions(string? Location = null, int BlobPort = 0, int QueuePort = 0);

/// <summary>Azurite could not be found, started or reached.</summary>
public sealed class AzuriteException(string message, Exception? inner = null) : Exception(message, inner), ICoralInputError;

/// <summary>
/// A private Azurite (Blob + Queue) on free loopback ports with in-memory persistence.
/// Ports are chosen by the OS (port 0) and read back from Azurite's own log, so two servers never collide.
/// A shell guard kills Azurite when this process's pipe to it closes, so even a killed test host
/// leaves no orphan behind.
/// </summary>
public sealed partial class AzuriteServer : IAsyncDisposable, IDisposable
{
    /// <summary>The well-known development account that Azurite accepts.</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    /// <summary>Environment variable that overrides where the azurite executable is.</summary>
    public const string ExecutableVariable = "CORAL_AZURITE";

    private readonly Process _guard;
    private bool _disposed;

    private AzuriteServer(Process guard, string workDirectory, int blobPort, int queuePort)
    {
        _guard = guard;
        WorkDirectory = workDirectory;
        BlobPort = blobPort;
        QueuePort = queuePort;
    }

    /// <summary>Azurite's private working folder (its cwd, so tests can find the process).</summary>
    public string WorkDirectory { get; }

    public int BlobPort { get; }
    public int QueuePort { get; }
    public Uri BlobEndpoint => new($"http://127.0.0.1:{BlobPort}/{AccountName}");
    public Uri QueueEndpoint => new($"http://127.0.0.1:{QueuePort}/{AccountName}");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint={BlobEndpoint};QueueEndpoint={QueueEndpoint};";

    /// <summary>Starts Azurite and returns once both services listen, or throws within <paramref name="timeout"/>.</summary>
    public static Task<AzuriteServer> StartAsync(TimeSpan? timeout = null, CancellationToken ct = default) =>
        StartAsync(new AzuriteStartOptions(), timeout, ct);

    /// <summary>
    /// Starts Azurite with data on disk in <see cref="AzuriteStartOptions.Location"/> (kept when it stops, so a restart
    /// finds everything) and, if given, on fixed ports (a restart on the same ports is an outage the clients can ride out).
    /// </summary>
    public static async Task<AzuriteServer> StartAsync(AzuriteStartOptions options, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        string exe = LocateExecutable();
        var workDir = Directory.CreateTempSubdirectory("coral-azurite-");
        string persistence = options.Location is { } location ? $"--location '{Path.GetFullPath(location)}'" : "--inMemoryPersistence";
        // The bash guard runs Azurite and a watcher that reads our pipe (fd 3 = the guard's stdin) until EOF,
        // which comes when we dispose or when this process dies for any reason; then it stops Azurite.
        // The guard exits when Azurite does, so an Azurite that fails to start is reported at once.
        // Azurite's cwd is its private work folder: that is how tests find its process.
        // --silent: no access log line per request (it cost Azurite and this process CPU on every request).
        string script =
            $"'{exe}' {persistence} --silent --skipApiVersionCheck --loose --disableProductStyleUrl " +
            $"--blobHost 127.0.0.1 --blobPort {options.BlobPort} --queueHost 127.0.0.1 --queuePort {options.QueuePort} --tableHost 127.0.0.1 --tablePort 0 " +
            "</dev/null & pid=$!; exec 3<&0; " +
            "( cat <&3 >/dev/null; kill -TERM $pid 2>/dev/null; " +
            "  for i in $(seq 50); do kill -0 $pid 2>/dev/null || exit 0; sleep 0.1; done; kill -KILL $pid 2>/dev/null ) >/dev/null 2>&1 & watcher=$!; " +
            "wait $pid; rc=$?; pkill -P $watcher 2>/dev/null; kill $watcher 2>/dev/null; exit $rc";
        var psi = new ProcessStartInfo("/bin/bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workDir.FullName,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);

        var guard = Process.Start(psi) ?? throw new AzuriteException("could not start /bin/bash for Azurite");
        var log = new System.Text.StringBuilder();
        int? blob = null, queue = null;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (ready.Task.IsCompleted) return; // only the start-up output is kept, for the error message
            if (line is null) { ready.TrySetException(new AzuriteException($"Azurite exited before listening. Output:\n{log}")); return; }
            lock (log)
            {
                log.AppendLine(line);
                var m = ListeningLine().Match(line);
                if (m.Success)
                {
                    int port = int.Parse(m.Groups["port"].Value);
                    if (m.Groups["svc"].Value == "Blob") blob = port; else if (m.Groups["svc"].Value == "Queue") queue = port;
                    if (blob is not null && queue is not null) ready.TrySetResult();
                }
            }
        }
        guard.OutputDataReceived += (_, e) => OnLine(e.Data);
        guard.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        guard.BeginOutputReadLine();
        guard.BeginErrorReadLine();

        try
        {
            await ready.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60), ct);
        }
        catch (Exception e)
        {
            Stop(guard, workDir.FullName);
            if (e is AzuriteException) throw;
            throw new AzuriteException($"Azurite did not start listening in time. Output so far:\n{log}", e);
        }
        return new AzuriteServer(guard, workDir.FullName, blob!.Value, queue!.Value);
    }

    /// <summary>Finds azurite: $CORAL_AZURITE, else tools/node_modules/.bin/azurite above the app, else PATH.</summary>
    public static string LocateExecutable()
    {
        var fromEnv = Environment.GetEnvironmentVariable(ExecutableVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
            return File.Exists(fromEnv) ? fromEnv : throw new AzuriteException($"{ExecutableVariable}={fromEnv} does not exist");
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tools", "node_modules", ".bin", "azurite");
                if (File.Exists(candidate)) return candidate;
            }
        }
        foreach (var p in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(p, "azurite");
            if (File.Exists(candidate)) return candidate;
        }
        throw new AzuriteException("azurite not found: run scripts/setup.sh (installs it into tools/), or set " + ExecutableVariable);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Stop(_guard, WorkDirectory);
    }

    private static void Stop(Process guard, string workDirectory)
    {
        try
        {
            guard.StandardInput.Close(); // EOF → the guard stops Azurite and waits for it
            if (!guard.WaitForExit(10_000)) guard.Kill(entireProcessTree: true);
            guard.WaitForExit();
        }
        catch (InvalidOperationException) { /* already gone */ }
        finally { guard.Dispose(); }
        try { Directory.Delete(workDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public ValueTask DisposeAsync() { Dispose(); return ValueTask.CompletedTask; }

    [GeneratedRegex(@"Azurite (?<svc>Blob|Queue) service is successfully listening at http://[^:]+:(?<port>\d+)")]
    private static partial Regex ListeningLine();
}
