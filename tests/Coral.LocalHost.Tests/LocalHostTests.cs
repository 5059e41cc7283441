using Coral.LocalHost.Serving;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Scoring;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using static Coral.Testing.PipelineTestKit;

namespace Coral.LocalHost.Tests;

[Collection(AzuriteCollection.Name)]
public class LocalHostTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Serve_until_idle_scores_everything_and_batches_every_flagged_image_once_even_with_hostile_blobs()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var names = new List<string>();
        for (int i = 0; i < 12; i++)
        {
            string name = i % 4 == 0 ? $"field/flag-{i}.png" : $"field/ok-{i}.png";
            await s.Incoming.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(TestPngs.Make(i)));
            names.Add(name);
        }
        var hostile = new Dictionary<string, byte[]>
        {
            ["empty.png"] = [],
            ["truncated.png"] = TestPngs.Make(1)[..20],
            ["..%2F..%2Fetc%2Fpasswd"] = "root:x:0:0"u8.ToArray(),
            ["a/b/c/flag-text.txt"] = "hello"u8.ToArray(),
        };
        foreach (var (n, b) in hostile) await s.Incoming.GetBlobClient(n).UploadAsync(BinaryData.FromBytes(b));
        var scorer = new FakeImageScorer { FailuresBeforeSuccess = 2 }; // transient failures are retried, not recorded
        var host = new LocalPipelineHost(s,
            new ScoreHandler(s, scorer, new ScoringOptions { ImagesPerJob = 2 }, NullLogger<ScoreHandler>.Instance),
            Generator(s),
            new LocalHostOptions { ScanInterval = TimeSpan.FromMilliseconds(100), UntilIdle = true },
            NullLoggerFactory.Instance);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await host.RunAsync(cts.Token);

        var incoming = await NamesAsync(s.Incoming);
        var records = new List<ScoreRecord>();
        foreach (var n in await NamesAsync(s.Scores))
            records.Add(PipelineJson.Deserialize<ScoreRecord>((await s.Scores.GetBlobClient(n).DownloadContentAsync()).Value.Content, n));
        records.Select(r => r.Source.Name).Should().BeEquivalentTo(incoming, "exactly one record per input");
        records.Where(r => r.Outcome == ScoreOutcome.Rejected).Should().HaveCount(hostile.Count).And.OnlyContain(r => r.Reason != null);
        var flagged = records.Where(r => r.Flagged).Select(r => r.JobId).ToList();
        flagged.Should().HaveCount(3);
        (await NamesAsync(s.Manifests)).Where(n => n.EndsWith(".json")).Should().BeEquivalentTo(flagged.Select(BlobPaths.Manifest));
        (await NamesAsync(s.Synthetic)).Should().HaveCount(flagged.Count * 2);
        (await NamesAsync(s.Staging)).Where(n => !n.StartsWith(BlobPaths.LocksPrefix)).Should().BeEmpty("a score record is one create-only PUT, never staged");
        (await s.JobsPoison.PeekMessagesAsync(1)).Value.Should().BeEmpty();
    }

    [Fact]
    public async Task A_blob_that_keeps_failing_gets_a_failed_record_after_five_tries()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.Incoming.GetBlobClient("always-fails.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(5)));
        var scorer = new FakeImageScorer { FailuresBeforeSuccess = int.MaxValue };
        var scanner = new BlobScanner(s, new ScoreHandler(s, scorer, new ScoringOptions(), NullLogger<ScoreHandler>.Instance), NullLogger.Instance,
            retryDelay: TimeSpan.Zero);

        for (int i = 0; i < 5; i++) await scanner.ScanOnceAsync(default);
        (await scanner.ScanOnceAsync(default)).Should().Be(0, "given up and recorded: not retried forever");

        scorer.Calls.Should().Be(5);
        var name = (await NamesAsync(s.Scores)).Single();
        var record = PipelineJson.Deserialize<ScoreRecord>((await s.Scores.GetBlobClient(name).DownloadContentAsync()).Value.Content, name);
        record.Outcome.Should().Be(ScoreOutcome.Failed);
        record.Reason.Should().Contain("failed 5 times").And.Contain("transient scorer failure");
    }
}

/// <summary>The scanner lists again while blobs are scored, and a failed blob waits before it is retried.</summary>
[Collection(AzuriteCollection.Name)]
public class BlobScannerTests(AzuriteFixture azurite)
{
    /// <summary>Holds every Score call until released.</summary>
    private sealed class GatedScorer : IImageScorer
    {
        private readonly FakeImageScorer inner = new();
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Entered;
        public string ModelVersion => inner.ModelVersion;
        public double? RecommendedThreshold => inner.RecommendedThreshold;
        public ImageScore Score(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct)
        {
            Interlocked.Increment(ref Entered);
            if (!Release.Task.Wait(TimeSpan.FromSeconds(60), ct)) throw new TimeoutException("the test never released the scorer");
            return inner.Score(image, sourceName, ct);
        }
    }

    [Fact]
    public async Task A_listing_starts_new_blobs_while_earlier_ones_are_still_being_scored()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.Incoming.GetBlobClient("first.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(1)));
        var scorer = new GatedScorer();
        var scanner = new BlobScanner(s, new ScoreHandler(s, scorer, new ScoringOptions { BatchWaitMilliseconds = 0 }, NullLogger<ScoreHandler>.Instance),
            NullLogger.Instance);

        // A listing must return while its blobs are still being scored (it used to run their synchronous part itself).
        (await scanner.ListOnceAsync(default).WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(1);
        await PipelineTestStorage.WaitUntilAsync(() => Task.FromResult(scorer.Entered == 1), TimeSpan.FromSeconds(30), "the first blob to reach the scorer");
        await s.Incoming.GetBlobClient("second.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(2)));
        (await scanner.ListOnceAsync(default).WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(1, "the second blob starts although the first is unfinished; the first is not started twice");
        scanner.InFlight.Should().Be(2);

        scorer.Release.SetResult();
        await scanner.DrainAsync();
        (await NamesAsync(s.Scores)).Should().HaveCount(2);
        (await scanner.ListOnceAsync(default)).Should().Be(0, "both have their record, which is the receipt");
    }

    [Fact]
    public async Task A_saturated_host_does_not_list_until_its_backlog_has_room_and_then_finds_the_late_blob()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        for (int i = 0; i < 12; i++) await s.Incoming.GetBlobClient($"backlog/{i}.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(i)));
        var scorer = new GatedScorer();
        var host = new LocalPipelineHost(s, new ScoreHandler(s, scorer, new ScoringOptions { BatchWaitMilliseconds = 0 }, NullLogger<ScoreHandler>.Instance),
            null, new LocalHostOptions { ScanInterval = TimeSpan.FromMilliseconds(20), BusyScanInterval = TimeSpan.FromMilliseconds(20), ScoringParallelism = 2 },
            NullLoggerFactory.Instance);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var running = host.RunAsync(cts.Token);

        await PipelineTestStorage.WaitUntilAsync(() => Task.FromResult(scorer.Entered >= 1), TimeSpan.FromSeconds(30), "the backlog to reach the scorer");
        await s.Incoming.GetBlobClient("late.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(99)));
        await Task.Delay(800);
        // 12 started with 2 slots: at least twice the slots wait, so each 20 ms check skips the listing (with the rule off: 12 listings).
        host.Listings.Should().Be(1, "a listing now would only queue new blobs behind the backlog");

        scorer.Release.SetResult();
        await PipelineTestStorage.WaitUntilAsync(async () => (await NamesAsync(s.Scores)).Count == 13, TimeSpan.FromSeconds(60), "every blob, the late one too, to be recorded");
        host.Listings.Should().BeGreaterThan(1, "listings resume once the backlog has room");
        cts.Cancel();
        await running;
    }

    [Fact]
    public async Task A_failed_blob_waits_for_its_retry_and_a_restarted_scanner_reads_the_records()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.Incoming.GetBlobClient("flaky.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(3)));
        var scorer = new FakeImageScorer { FailuresBeforeSuccess = 1 };
        var handler = new ScoreHandler(s, scorer, new ScoringOptions(), NullLogger<ScoreHandler>.Instance);
        var scanner = new BlobScanner(s, handler, NullLogger.Instance, retryDelay: TimeSpan.FromSeconds(2));

        (await scanner.ScanOnceAsync(default)).Should().Be(1);
        scanner.AwaitingRetry.Should().Be(1);
        (await scanner.ScanOnceAsync(default)).Should().Be(0, "the retry is not due yet");
        await Task.Delay(2200);
        (await scanner.ScanOnceAsync(default)).Should().Be(1);
        scorer.Calls.Should().Be(2);
        (await NamesAsync(s.Scores)).Should().ContainSingle();

        var restarted = new BlobScanner(s, handler, NullLogger.Instance);
        (await restarted.ScanOnceAsync(default)).Should().Be(0, "the record under scores/ says the version is done");
        restarted.Processed.Should().Be(1);
    }
}
