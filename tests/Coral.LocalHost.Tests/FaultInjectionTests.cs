using System.Collections.Concurrent;
using Coral.LocalHost.Audit;
using Coral.LocalHost.Faults;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Models;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using static Coral.Testing.PipelineTestKit;

namespace Coral.LocalHost.Tests;

/// <summary>
/// The 50 hostile blobs of `coral bench pipeline`, with good images, through the local host and the shipped
/// classifier's real decoder: each gets exactly one rejected record with its exact error type and reason,
/// none stops the host, and nothing (blob or queue message) is retried without bound.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class FaultInjectionTests(AzuriteFixture azurite)
{
    /// <summary>The real scorer, counting calls per blob; one name fails transiently forever.</summary>
    private sealed class CountingScorer(IImageScorer inner, string alwaysFails) : IImageScorer
    {
        public readonly ConcurrentDictionary<string, int> Calls = new();
        public string ModelVersion => inner.ModelVersion;
        public double? RecommendedThreshold => inner.RecommendedThreshold;

        public ImageScore Score(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct)
        {
            Calls.AddOrUpdate(sourceName, 1, (_, n) => n + 1);
            if (sourceName == alwaysFails) throw new IOException($"{sourceName}: storage read timed out (injected)");
            return inner.Score(image, sourceName, ct);
        }
    }

    [Fact]
    public async Task Every_hostile_blob_gets_one_rejected_record_with_its_exact_reason_and_the_host_keeps_serving()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        using var classifier = OnnxImageScorer.Load(ModelPaths.Resolve(Defaults.ClassifierPath), Defaults.MaxInputBytes);
        const string transient = "hostile/always-transient.png";
        var scorer = new CountingScorer(classifier, transient);
        var hostile = HostileBlobs.Create(Defaults.MaxInputBytes);
        hostile.Should().HaveCount(50);
        var good = Enumerable.Range(0, 6).Select(i => $"field/good-{i}.png").ToList();
        foreach (var (name, i) in good.Select((n, i) => (n, i))) await s.Incoming.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(TestPngs.Make(i)));
        foreach (var h in hostile) await s.Incoming.GetBlobClient(h.Name).UploadAsync(BinaryData.FromBytes(h.Content));
        await s.Incoming.GetBlobClient(transient).UploadAsync(BinaryData.FromBytes(TestPngs.Make(99)));
        // Hostile queue messages too: not JSON, and a job asking for 0 images. Both are permanent: poisoned at once.
        await s.Jobs.SendMessageAsync("this is not a job");
        await s.Jobs.SendMessageAsync("""{"jobId":"x-0123456789abcdef","imageCount":0}""");

        var host = new LocalPipelineHost(s,
            new ScoreHandler(s, scorer, new ScoringOptions { Threshold = double.MinValue, ImagesPerJob = 2 }, NullLogger<ScoreHandler>.Instance),
            Generator(s),
            new LocalHostOptions { ScanInterval = TimeSpan.FromMilliseconds(100), UntilIdle = true, Queue = new QueueConsumerOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) } },
            NullLoggerFactory.Instance);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await host.RunAsync(cts.Token); // returns only once idle: no hostile input stopped or stalled it
        cts.IsCancellationRequested.Should().BeFalse("the host went idle by itself");

        var audit = await PipelineAudit.ReadAsync(s, generatorRan: true, default);
        audit.Problems.Should().BeEmpty();
        audit.Incoming.Should().Be(good.Count + hostile.Count + 1);

        var rows = audit.CheckHostile(s.Incoming, hostile);
        rows.Select(r => (r.Name, r.Records, r.Outcome, r.ErrorType)).Should().BeEquivalentTo(
            hostile.Select(h => (h.Name, 1, (ScoreOutcome?)ScoreOutcome.Rejected, (string?)h.ExpectedError)), "one rejected record of the expected type per hostile blob");
        rows.Should().OnlyContain(r => r.Ok, "each reason names the problem: " + string.Join("; ", rows.Where(r => !r.Ok).Select(r => $"{r.Name}: {r.Reason}")));
        rows.Single(r => r.Name.EndsWith("bomb-deflate-8000x8000.png")).Reason.Should().Contain("8000x8000 = 64000000 pixels, above the limit of 40000000");
        rows.Single(r => r.Name.EndsWith("a/../traversal.png")).StoredName.Should().Be("hostile/traversal.png", "the URL resolves dot segments");

        // Permanent rejections are decoded once; oversize and unaddressable blobs are never read at all.
        foreach (var h in hostile)
        {
            var stored = rows.Single(r => r.Name == h.Name).StoredName;
            int calls = scorer.Calls.GetValueOrDefault(stored);
            if (h.Kind == "oversize" || h.ExpectedError == BlobScanner.UnaddressableBlobName) calls.Should().Be(0, h.Name);
            else calls.Should().Be(1, h.Name);
        }
        // A transient failure is retried, but only up to the blob poison threshold, then recorded as failed.
        scorer.Calls[transient].Should().Be(Defaults.BlobPoisonThreshold);
        var failed = audit.Records.Single(r => r.Source.Name == transient);
        (failed.Outcome, failed.ErrorType).Should().Be((ScoreOutcome.Failed, nameof(IOException)));
        failed.Reason.Should().Contain($"failed {Defaults.BlobPoisonThreshold} times").And.Contain("storage read timed out");

        // The good images were scored (flagged by the threshold) and batched once each, hostile ones or not.
        audit.Records.Where(r => r.Source.Name.StartsWith("field/")).Should().HaveCount(good.Count).And.OnlyContain(r => r.Outcome == ScoreOutcome.Flagged);
        (audit.Manifests, audit.CompleteBatches, audit.SyntheticImages, audit.QueueMessages).Should().Be((good.Count, good.Count, 2 * good.Count, 0));
        audit.Poison.Should().HaveCount(2).And.OnlyContain(p => p.Reason.StartsWith("permanent failure") && p.DequeueCount == 1);

        // Nothing is pending: a fresh scanner (receipts read back from storage) finds no work.
        var rescan = new BlobScanner(s, new ScoreHandler(s, scorer, new ScoringOptions(), NullLogger<ScoreHandler>.Instance), NullLogger.Instance);
        (await rescan.ScanOnceAsync(default)).Should().Be(0);
        (await NamesAsync(s.Scores)).Should().HaveCount(audit.Incoming);
    }
}
