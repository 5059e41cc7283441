using System.CommandLine;
using Coral.LocalHost.Azurite;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral azurite`: a private Azurite on free loopback ports for local work. Prints the connection
/// string, then runs until Ctrl-C, SIGTERM, or its parent process exits (so a script that started it in
/// the background cannot leave it behind); if this process itself is killed, Azurite goes with it.
/// </summary>
public static class AzuriteCommand
{
    public const string ConnectionStringPrefix = "CONNECTION_STRING=";

    public static Command Create()
    {
        var command = new Command("azurite", "Start a private in-memory Azurite on free loopback ports and print its connection string.");
        command.SetAction(async (_, ct) =>
        {
            await using var server = await AzuriteServer.StartAsync(ct: ct);
            Console.WriteLine($"blob http://127.0.0.1:{server.BlobPort}  queue http://127.0.0.1:{server.QueuePort}  folder {server.WorkDirectory}");
            Console.WriteLine(ConnectionStringPrefix + server.ConnectionString);
            Console.Out.Flush();
            try { await ParentExitedAsync(ct); Console.WriteLine("parent process exited: stopping Azurite"); }
            catch (OperationCanceledException) { Console.WriteLine("stopping Azurite"); }
            return 0;
        });
        return command;
    }

    /// <summary>Completes when this process is re-parented (its parent exited); Linux only, elsewhere waits for ct.</summary>
    private static async Task ParentExitedAsync(CancellationToken ct)
    {
        int? parent = ParentPid();
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            if (parent is not null && ParentPid() != parent) return;
        }
    }

    /// <summary>PPID from /proc/self/stat ("pid (comm) state ppid ..."; comm may contain spaces, so parse after ')').</summary>
    private static int? ParentPid()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
