using System.Net.Sockets;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Coral.LocalHost.Azurite;
using Coral.Testing;

namespace Coral.LocalHost.Tests.Azurite;

/// <summary>The Azurite lifecycle itself: free ports, really listening, nothing left behind.</summary>
public class AzuriteServerTests
{
    [Fact]
    public async Task Two_servers_get_distinct_free_ports_and_both_serve_blobs_and_queues()
    {
        await using var a = await AzuriteServer.StartAsync();
        await using var b = await AzuriteServer.StartAsync();

        new[] { a.BlobPort, a.QueuePort, b.BlobPort, b.QueuePort }.Should().OnlyHaveUniqueItems();
        foreach (var server in new[] { a, b })
        {
            var container = new BlobServiceClient(server.ConnectionString).GetBlobContainerClient("lifecycle");
            await container.CreateAsync();
            await container.GetBlobClient("x.txt").UploadAsync(BinaryData.FromString($"hello {server.BlobPort}"));
            (await container.GetBlobClient("x.txt").DownloadContentAsync()).Value.Content.ToString()
                .Should().Be($"hello {server.BlobPort}");

            var queue = new QueueClient(server.ConnectionString, "lifecycle");
            await queue.CreateAsync();
            await queue.SendMessageAsync("ping");
            (await queue.ReceiveMessageAsync()).Value.MessageText.Should().Be("ping");
        }
    }

    [Fact]
    public async Task Dispose_stops_azurite_and_frees_its_ports()
    {
        var server = await AzuriteServer.StartAsync();
        int port = server.BlobPort;
        string marker = server.WorkDirectory;
        AzuriteProcesses.Matching(marker).Should().NotBeEmpty("Azurite runs while the server is alive");

        server.Dispose();

        AzuriteProcesses.Matching(marker).Should().BeEmpty("no orphan Azurite may survive Dispose");
        Directory.Exists(marker).Should().BeFalse();
        var connect = () => { using var c = new TcpClient(); c.Connect("127.0.0.1", port); };
        connect.Should().Throw<SocketException>();
    }

    [Fact]
    public void A_missing_executable_override_is_a_clear_error()
    {
        var previous = Environment.GetEnvironmentVariable(AzuriteServer.ExecutableVariable);
        try
        {
            Environment.SetEnvironmentVariable(AzuriteServer.ExecutableVariable, "/nonexistent/azurite");
            var act = () => AzuriteServer.LocateExecutable();
            act.Should().Throw<AzuriteException>().WithMessage("*/nonexistent/azurite*");
        }
        finally { Environment.SetEnvironmentVariable(AzuriteServer.ExecutableVariable, previous); }
    }
}
