using System.Diagnostics;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Review;
using Coral.Pipeline.Scoring;
using Coral.Testing;
using static Coral.Testing.PipelineTestKit;

namespace Coral.LocalHost.Tests;

/// <summary>
/// kill -9 the serving host mid-job, restart it, and check that every input still ends with exactly one
/// score record, one job, one complete batch and one manifest.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class CrashRecoveryTests(AzuriteFixture azurite)
{
    /// <summary>The serving host in a child process (TestChild serve-child), so it can be SIGKILLed.</summary>
    private static ObservedProcess Child(string connection, string prefix, string releaseFile)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
        foreach (var a in new[] { typeof(TestChild).Assembly.Location, "serve-child", connection, prefix, releaseFile }) psi.ArgumentList.Add(a);
        return new ObservedProcess(psi);
    }

    private static readonly System.Text.RegularExpressions.Regex GeneratingLine = new("Generating");

    [Fact]
    public async Task Sigkill_mid_job_then_restart_ends_with_exactly_one_of_everything()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var inputs = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            string name = i < 3 ? $"flag-{i}.png" : $"plain-{i}.png";
            await s.Incoming.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(TestPngs.Make(i)));
            inputs.Add(name);
        }
        string release = Path.Combine(Directory.CreateTempSubdirectory("coral-crash-").FullName, "release");

        using (var first = Child(azurite.ConnectionString, s.Prefix, release))
        {
            await first.WaitForLineAsync(GeneratingLine, TimeSpan.FromSeconds(240)); // generous: a loaded 2-core machine (the whole suite in parallel) is slow to start a host
            first.KillHard();
        }
        (await NamesAsync(s.Manifests)).Should().BeEmpty("the first host died before committing any batch");

        await File.WriteAllTextAsync(release, "go");
        using var second = Child(azurite.ConnectionString, s.Prefix, release);
        await PipelineTestStorage.WaitUntilAsync(async () =>
            (await NamesAsync(s.Manifests)).Count(n => n.EndsWith(".json")) == 3
            && (await s.Jobs.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0,
            TimeSpan.FromSeconds(240), "three manifests and an empty queue after the restart");

        // Ctrl-C: a graceful stop with exit code 0.
        Process.Start("kill", ["-INT", second.Pid.ToString()])!.WaitForExit();
        await second.WaitForExitAsync(TimeSpan.FromSeconds(30)); // Ctrl-C must stop it: throws with the log otherwise
        second.ExitCode.Should().Be(0, second.Log);
        second.Log.Should().Contain("Stopped");

        var records = new List<ScoreRecord>();
        foreach (var n in await NamesAsync(s.Scores))
            records.Add(PipelineJson.Deserialize<ScoreRecord>((await s.Scores.GetBlobClient(n).DownloadContentAsync()).Value.Content, n));
        records.Select(r => r.Source.Name).Should().BeEquivalentTo(inputs, "one score record per input");
        var jobs = records.Where(r => r.Flagged).Select(r => r.JobId).ToList();
        jobs.Should().HaveCount(3);

        var manifests = (await NamesAsync(s.Manifests)).Where(n => n.EndsWith(".json")).ToList();
        manifests.Should().BeEquivalentTo(jobs.Select(j => j + ".json"), "one manifest per job");
        var review = new ReviewService(s);
        foreach (var job in jobs)
        {
            var (m, _) = await review.ReadAsync(job, default);
            m.Images.Should().HaveCount(4);
            (await NamesAsync(s.Synthetic, job + "/")).Should().BeEquivalentTo(m.Images.Select(i => i.Path), "one complete batch");
            foreach (var img in m.Images)
                GenerateHandler.Sha256((await s.Synthetic.GetBlobClient(img.Path).DownloadContentAsync()).Value.Content.ToArray())
                    .Should().Be(img.Sha256);
            m.Images.Should().OnlyContain(i => i.Status == ReviewStatus.Pending);
        }
        (await NamesAsync(s.Synthetic)).Should().HaveCount(12);
        (await s.JobsPoison.PeekMessagesAsync(1)).Value.Should().BeEmpty("nothing was given up on");
        second.Log.Should().Contain("JobId", "logs carry the job id");
    }
}
