using Coral.Cli.Commands;
using Coral.Testing;

namespace Coral.Cli.Tests;

public class AzuriteCommandTests
{
    [Fact]
    public async Task Killing_the_cli_with_sigkill_leaves_no_orphan_azurite()
    {
        using var coral = CliProcess.Start("azurite");
        string? folder = null, connection = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (connection is null && DateTime.UtcNow < deadline)
        {
            var line = await coral.StandardOutput.ReadLineAsync().WaitAsync(deadline - DateTime.UtcNow);
            if (line is null) break;
            if (line.Contains(" folder ")) folder = line[(line.IndexOf(" folder ") + 8)..].Trim();
            if (line.StartsWith(AzuriteCommand.ConnectionStringPrefix)) connection = line[AzuriteCommand.ConnectionStringPrefix.Length..];
        }
        connection.Should().Contain("BlobEndpoint=http://127.0.0.1:");
        folder.Should().NotBeNull();
        AzuriteProcesses.Matching(folder!).Should().NotBeEmpty();

        coral.Kill(entireProcessTree: false); // SIGKILL to coral only: its Azurite must follow on its own

        var left = await AzuriteProcesses.WaitUntilGoneAsync(folder!, TimeSpan.FromSeconds(20));
        left.Should().BeEmpty("Azurite must not outlive a killed host");
    }
}
