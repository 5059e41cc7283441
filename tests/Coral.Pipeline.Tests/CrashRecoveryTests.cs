using System.Diagnostics;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Scoring;
using Coral.Testing;
using static Coral.Pipeline.Tests.PipelineTestKit;

namespace Coral.Pipeline.Tests;

/// <summary>
/// kill -9 the serving host mid-job, restart it, and check that every input still ends with exactly one
/// score record, one job, one complete batch and one manifest.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class CrashRecoveryTests(AzuriteFixture azurite)
{
    private sealed class Child : IDisposable
    {
        private readonly Process _p;
        private readonly System.Text.StringBuilder _log = new();
        public readonly TaskCompletionSource Generating = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Child(string connection, string prefix, string releaseFile)
        {
            var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { typeof(TestChild).Assembly.Location, "serve-child", connection, prefix, releaseFile }) psi.ArgumentList.Add(a);
            _p = Process.Start(psi)!;
            _p.OutputDataReceived += (_, e) => OnLine(e.Data);
            _p.ErrorDataReceived += (_, e) => OnLine(e.Data);
            _p.BeginOutputReadLine();
            _p.BeginErrorReadLine();
        }

        private void OnLine(string? line)
        {
            if (line is null) return;
            lock (_log) _log.AppendLine(line);
            if (line.Contains("Generating", StringComparison.Ordinal)) Generating.TrySetResult();
        }

        public string Log { get { lock (_log) return _log.ToString(); } }
        public int Pid => _p.Id;
        public bool HasExited => _p.HasExited;
        public int ExitCode => _p.ExitCode;
        public void KillHard() { _p.Kill(); _p.WaitForExit(); } // Process.Kill is SIGKILL on Unix
        public Task WaitForExitAsync(CancellationToken ct) => _p.WaitForExitAsync(ct);

        public void Dispose()
        {
            if (!_p.HasExited) _p.Kill(entireProcessTree: true);
            _p.Dispose();
        }
    }

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

        using (var first = new Child(azurite.ConnectionString, s.Prefix, release))
        {
            await first.Generating.Task.WaitAsync(TimeSpan.FromSeconds(90));
            first.KillHard();
        }
        (await NamesAsync(s.Manifests)).Should().BeEmpty("the first host died before committing any batch");

        await File.WriteAllTextAsync(release, "go");
        using var second = new Child(azurite.ConnectionString, s.Prefix, release);
        await PipelineTestStorage.WaitUntilAsync(async () =>
            (await NamesAsync(s.Manifests)).Count(n => n.EndsWith(".json")) == 3
            && (await s.Jobs.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0,
            TimeSpan.FromSeconds(120), "three manifests and an empty queue after the restart");

        // Ctrl-C: a graceful stop with exit code 0.
        Process.Start("kill", ["-INT", second.Pid.ToString()])!.WaitForExit();
        using var exitDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await second.WaitForExitAsync(exitDeadline.Token); }
        catch (OperationCanceledException) { throw new TimeoutException("serve did not stop within 30 s of SIGINT; its log:\n" + second.Log); }
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
        var review = new Review.ReviewService(s);
        foreach (var job in jobs)
        {
            var (m, _) = await review.ReadAsync(job, default);
            m.Images.Should().HaveCount(4);
            (await NamesAsync(s.Synthetic, job + "/")).Should().BeEquivalentTo(m.Images.Select(i => i.Path), "one complete batch");
            foreach (var img in m.Images)
                Generation.GenerateHandler.Sha256((await s.Synthetic.GetBlobClient(img.Path).DownloadContentAsync()).Value.Content.ToArray())
                    .Should().Be(img.Sha256);
            m.Images.Should().OnlyContain(i => i.Status == ReviewStatus.Pending);
        }
        (await NamesAsync(s.Synthetic)).Should().HaveCount(12);
        (await s.JobsPoison.PeekMessagesAsync(1)).Value.Should().BeEmpty("nothing was given up on");
        second.Log.Should().Contain("JobId", "logs carry the job id");
    }
}
