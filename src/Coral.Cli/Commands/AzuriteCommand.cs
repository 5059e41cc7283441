using System.CommandLine;
using Coral.Pipeline.LocalStorage;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral azurite`: a private Azurite on free loopback ports for local work. Prints the connection
/// string, then runs until Ctrl-C (or until this process dies: Azurite goes with it).
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
            try { await Task.Delay(Timeout.Infinite, ct); }
            catch (OperationCanceledException) { Console.WriteLine("stopping Azurite"); }
            return 0;
        });
        return command;
    }
}
