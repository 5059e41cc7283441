using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Text;
using Coral.Cli.Commands;
using Coral.LocalHost.Audit;
using Coral.Pipeline.Storage;
using Coral.Testing;

namespace Coral.Cli.Tests;

/// <summary>
/// kill -9 the real `coral serve` (shipped classifier and LTG generator) mid-job, restart it, and check from
/// storage that every input ends with exactly one score record, one job, one complete batch and one manifest.
/// Storage is a separate `coral azurite` process, so it outlives the killed host.
/// </summary>
public partial class ServeCrashTests
{
    private static ObservedProcess Coral(params string[] args) => new(CliProcess.StartInfo(args));

    [GeneratedRegex(@"Generating \d+ images for job (?<job>[a-z0-9-]+) ")]
    private static partial Regex GeneratingLine();

    [Fact]
    public async Task Sigkill_of_coral_serve_mid_job_then_restart_leaves_exactly_one_of_everything()
    {
        using var azurite = Coral("azurite");
        var connection = (await azurite.WaitForLineAsync(new Regex("^" + Regex.Escape(AzuriteCommand.ConnectionStringPrefix) + "(?<cs>.+)$"), TimeSpan.FromSeconds(60))).Groups["cs"].Value;
        var folder = (await azurite.WaitForLineAsync(new Regex(" folder (?<f>\\S+)"), TimeSpan.FromSeconds(5))).Groups["f"].Value;
        string prefix = "crash" + Guid.NewGuid().ToString("N")[..8] + "-";
        // Every real image is flagged (threshold below any signal) so each gets a real LTG batch; short visibility so the
        // killed host's message comes back soon. Its job lease (30 s) still has to expire: the restart waits that out.
        string[] serve = ["serve", "--connection", connection, "--name-prefix", prefix, "--upload-fashion-mnist", "4", "--threshold=-1000000",
            "--images-per-job", "2", "--visibility-timeout", "3", "--scan-interval-ms", "200"];

        string killedJob;
        using (var first = Coral(serve))
        {
            killedJob = (await first.WaitForLineAsync(GeneratingLine(), TimeSpan.FromSeconds(90))).Groups["job"].Value;
            first.Process.Kill(entireProcessTree: false); // SIGKILL: no cleanup, no message handed back
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
            first.Log.Should().NotContain(AzuriteCommand.ConnectionStringPrefix, "with --connection, serve starts no Azurite of its own");
        }
        var storage = PipelineStorage.FromConnectionString(connection, prefix);
        (await storage.Manifests.GetBlobClient(killedJob + ".json").ExistsAsync()).Value.Should().BeFalse("the host died inside the job, before its commit");
        (await storage.Staging.GetBlobClient("locks/" + killedJob).ExistsAsync()).Value.Should().BeTrue("the dead host still holds the job's lease blob");

        using (var second = Coral([.. serve, "--until-idle"]))
        {
            (await second.WaitForExitAsync(TimeSpan.FromSeconds(150))).Should().Be(0, second.Log);
        }

        var audit = await PipelineAudit.ReadAsync(storage, generatorRan: true, default);
        audit.Problems.Should().BeEmpty();
        audit.Records.Should().HaveCount(4).And.OnlyContain(r => r.Flagged, "one score record per input, each with its job");
        audit.Records.Select(r => r.Source.Name).Should().OnlyHaveUniqueItems();
        (audit.Manifests, audit.CompleteBatches, audit.SyntheticImages, audit.QueueMessages).Should().Be((4, 4, 8, 0), "one complete batch and one manifest per job");
        audit.Poison.Should().BeEmpty("a crash is not a reason to give up on a job");

        azurite.Process.Kill(entireProcessTree: false);
        (await AzuriteProcesses.WaitUntilGoneAsync(folder, TimeSpan.FromSeconds(20))).Should().BeEmpty("no orphan Azurite");
    }
}
