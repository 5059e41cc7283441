using Coral.Pipeline.Contracts;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Coral.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public class ScoreHandlerTests(AzuriteFixture azurite)
{
    private static ScoreHandler Handler(PipelineStorage s, IImageScorer? scorer = null, ScoringOptions? options = null) =>
        new(s, scorer ?? new FakeImageScorer(), options ?? new ScoringOptions { ImagesPerJob = 3 }, NullLogger<ScoreHandler>.Instance);

    private static async Task<string> CurrentEtagAsync(Azure.Storage.Blobs.BlobClient blob) =>
        JobIds.NormalizeEtag((await blob.GetPropertiesAsync()).Value.ETag.ToString());

    private static async Task<int> CountAsync(Azure.Storage.Blobs.BlobContainerClient c)
    {
        int n = 0;
        await foreach (var _ in c.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, null, default)) n++;
        return n;
    }

    [Fact]
    public async Task Flagged_image_gets_one_record_and_a_job_pinned_to_its_version()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var blob = s.Incoming.GetBlobClient("cam1/flag-001.png");
        await blob.UploadAsync(BinaryData.FromBytes(TestPngs.Make(1)));

        var result = await Handler(s).HandleAsync(blob, default);

        result!.Record.Outcome.Should().Be(ScoreOutcome.Flagged);
        result.Job!.JobId.Should().Be(result.Record.JobId);
        result.Job.Source.ETag.Should().Be(await CurrentEtagAsync(blob));
        result.Job.Source.Sha256.Should().MatchRegex("^[0-9a-f]{64}$");
        result.Job.ImageCount.Should().Be(3);
        (await CountAsync(s.Scores)).Should().Be(1);
        (await CountAsync(s.Staging)).Should().Be(0, "temporary blobs are removed after the commit");
    }

    [Fact]
    public async Task Redelivery_and_concurrent_duplicates_leave_exactly_one_record_and_score_once_per_winner()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var blob = s.Incoming.GetBlobClient("flag-dup.png");
        await blob.UploadAsync(BinaryData.FromBytes(TestPngs.Make(2)));
        var handler = Handler(s);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => handler.HandleAsync(blob, default)));
        var again = await handler.HandleAsync(blob, default);

        (await CountAsync(s.Scores)).Should().Be(1);
        results.Select(r => r!.Record.ScoredAt).Append(again!.Record.ScoredAt).Distinct().Should().HaveCount(1, "all see the committed record");
        again.AlreadyScored.Should().BeTrue();
        again.JobMessage.Should().NotBeNull("a redelivery re-emits the job: the first delivery may have died before sending it");
    }

    [Fact]
    public async Task A_new_upload_under_the_same_name_is_a_new_input()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var blob = s.Incoming.GetBlobClient("same.png");
        await blob.UploadAsync(BinaryData.FromBytes(TestPngs.Make(3)));
        var first = await Handler(s).HandleAsync(blob, default);
        await blob.UploadAsync(BinaryData.FromBytes(TestPngs.Make(4)), overwrite: true);
        var second = await Handler(s).HandleAsync(blob, default);

        second!.Record.JobId.Should().NotBe(first!.Record.JobId);
        (await CountAsync(s.Scores)).Should().Be(2);
    }

    [Theory]
    [InlineData(new byte[0], "not a PNG")]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, "not a PNG")]
    public async Task Bad_input_gets_a_rejected_record_with_the_reason(byte[] content, string reason)
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var blob = s.Incoming.GetBlobClient("evil..%2F..name .bin");
        await blob.UploadAsync(BinaryData.FromBytes(content));

        var result = await Handler(s).HandleAsync(blob, default);

        result!.Record.Outcome.Should().Be(ScoreOutcome.Rejected);
        result.Record.Reason.Should().Contain(reason);
        result.Job.Should().BeNull();
        (await Handler(s).TryReadRecordAsync(result.Record.JobId, default))!.Outcome.Should().Be(ScoreOutcome.Rejected);
    }

    [Fact]
    public async Task Oversized_blob_is_rejected_before_download()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var blob = s.Incoming.GetBlobClient("huge.png");
        await blob.UploadAsync(BinaryData.FromBytes(new byte[4096]));
        var scorer = new FakeImageScorer();

        var result = await Handler(s, scorer, new ScoringOptions { MaxInputBytes = 1024 }).HandleAsync(blob, default);

        result!.Record.Outcome.Should().Be(ScoreOutcome.Rejected);
        result.Record.Reason.Should().Contain("4096 bytes");
        scorer.Calls.Should().Be(0);
    }

    [Fact]
    public async Task A_listed_blob_over_the_size_limit_is_recorded_without_a_GET()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.Incoming.GetBlobClient("listed-huge.png").UploadAsync(BinaryData.FromBytes(new byte[4096]));
        var (counted, log) = Counted(s, azurite);

        var result = await Handler(counted, options: new ScoringOptions { MaxInputBytes = 1024 })
            .HandleAsync(counted.Incoming.GetBlobClient("listed-huge.png"), await ListedAsync(s, "listed-huge.png"), null, default);

        result!.Record.ErrorType.Should().Be(ScoreHandler.TooLargeErrorType);
        log.Requests.Should().ContainSingle().Which.Should().StartWith("PUT ");
    }

    [Fact]
    public async Task Deleted_blob_is_nothing_to_do()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        (await Handler(s).HandleAsync(s.Incoming.GetBlobClient("gone.png"), default)).Should().BeNull();
    }

    /// <summary>Counts the storage requests a client sends (method and path).</summary>
    private sealed class RequestLog : Azure.Core.Pipeline.HttpPipelineSynchronousPolicy
    {
        public readonly System.Collections.Concurrent.ConcurrentQueue<string> Requests = new();
        public override void OnSendingRequest(Azure.Core.HttpMessage message) =>
            Requests.Enqueue($"{message.Request.Method} {message.Request.Uri.Path.TrimStart('/').Split('/', 2)[1]}");
    }

    private static (PipelineStorage Storage, RequestLog Log) Counted(PipelineStorage s, AzuriteFixture azurite)
    {
        var log = new RequestLog();
        var options = new Azure.Storage.Blobs.BlobClientOptions();
        options.AddPolicy(log, Azure.Core.HttpPipelinePosition.PerCall);
        return (new PipelineStorage(new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString, options), s.QueueService, s.Prefix), log);
    }

    private static async Task<ListedBlob> ListedAsync(PipelineStorage s, string name)
    {
        await foreach (var item in s.Incoming.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, name, default))
            if (item.Name == name) return new ListedBlob(item.Properties.ETag!.Value, item.Properties.ContentLength!.Value);
        throw new InvalidOperationException($"{name} not listed");
    }

    [Fact]
    public async Task A_listed_blob_costs_two_requests_a_GET_and_a_create_only_PUT_and_a_duplicate_reads_the_record_only_then()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.Incoming.GetBlobClient("cam/ok-1.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(7)));
        var listed = await ListedAsync(s, "cam/ok-1.png");
        var (counted, log) = Counted(s, azurite);
        var handler = Handler(counted);

        var first = await handler.HandleAsync(counted.Incoming.GetBlobClient("cam/ok-1.png"), listed, null, default);

        first!.AlreadyScored.Should().BeFalse();
        log.Requests.Should().Equal($"GET {s.Incoming.Name}/cam/ok-1.png", $"PUT {s.Scores.Name}/{first.Record.JobId}.json");
        log.Requests.Clear();

        var again = await handler.HandleAsync(counted.Incoming.GetBlobClient("cam/ok-1.png"), listed, null, default);

        again!.AlreadyScored.Should().BeTrue();
        again.Record.ScoredAt.Should().Be(first.Record.ScoredAt, "the committed record is the one returned");
        log.Requests.Should().Equal($"GET {s.Incoming.Name}/cam/ok-1.png", $"PUT {s.Scores.Name}/{first.Record.JobId}.json",
            $"GET {s.Scores.Name}/{first.Record.JobId}.json");
        (await CountAsync(s.Scores)).Should().Be(1);
    }

    [Fact]
    public async Task Without_a_listing_the_blob_still_costs_two_requests_and_the_GET_gives_the_ETag()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var plain = s.Incoming.GetBlobClient("trigger.png");
        await plain.UploadAsync(BinaryData.FromBytes(TestPngs.Make(8)));
        var (counted, log) = Counted(s, azurite);

        var result = await Handler(counted).HandleAsync(counted.Incoming.GetBlobClient("trigger.png"), default);

        log.Requests.Should().HaveCount(2);
        result!.Record.Source.ETag.Should().Be(await CurrentEtagAsync(plain));
    }

    [Fact]
    public async Task A_listed_version_that_was_overwritten_is_not_scored_and_the_new_version_gets_its_own_record()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var blob = s.Incoming.GetBlobClient("changing.png");
        await blob.UploadAsync(BinaryData.FromBytes(TestPngs.Make(9)));
        var stale = await ListedAsync(s, "changing.png");
        await blob.UploadAsync(BinaryData.FromBytes(TestPngs.Make(10)), overwrite: true);

        (await Handler(s).HandleAsync(blob, stale, null, default)).Should().BeNull("the GET is If-Match the listed ETag");
        (await CountAsync(s.Scores)).Should().Be(0);

        var fresh = await Handler(s).HandleAsync(blob, await ListedAsync(s, "changing.png"), null, default);
        fresh!.Record.Source.ETag.Should().Be(await CurrentEtagAsync(blob));
        (await CountAsync(s.Scores)).Should().Be(1);
    }

    [Fact]
    public async Task The_job_is_handed_over_before_the_record_is_written_so_a_crash_between_loses_nothing()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var blob = s.Incoming.GetBlobClient("flag-before.png");
        await blob.UploadAsync(BinaryData.FromBytes(TestPngs.Make(11)));
        var handler = Handler(s);
        bool recordExistedAtHandover = true;

        await FluentActions.Awaiting(() => handler.HandleAsync(blob, null, (_, _) => throw new IOException("host died (injected)"), default))
            .Should().ThrowAsync<IOException>();
        (await CountAsync(s.Scores)).Should().Be(0, "no record yet: the next scan scores it again");

        var result = await handler.HandleAsync(blob, null, async (r, ct) =>
        {
            r.JobMessage.Should().NotBeNull();
            recordExistedAtHandover = await handler.TryReadRecordAsync(r.Record.JobId, ct) is not null;
        }, default);

        recordExistedAtHandover.Should().BeFalse();
        result!.Record.Outcome.Should().Be(ScoreOutcome.Flagged);
        (await CountAsync(s.Scores)).Should().Be(1);
    }

    [Fact]
    public void Oversize_blobs_are_recorded_with_the_decoders_error_type()
    {
        // Refused from the blob's size before any decoding: the record names the same type the decoder would throw.
        ScoreHandler.TooLargeErrorType.Should().Be(nameof(Coral.Imaging.ImageTooLargeException));
    }
}
