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
        result.Job.Source.ETag.Should().Be(JobIds.NormalizeEtag((await blob.GetPropertiesAsync()).Value.ETag.ToString()));
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
    public async Task Deleted_blob_is_nothing_to_do()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        (await Handler(s).HandleAsync(s.Incoming.GetBlobClient("gone.png"), default)).Should().BeNull();
    }

    [Fact]
    public void Oversize_blobs_are_recorded_with_the_decoders_error_type()
    {
        // Refused from the blob's size before any decoding: the record names the same type the decoder would throw.
        ScoreHandler.TooLargeErrorType.Should().Be(nameof(Coral.Imaging.ImageTooLargeException));
    }
}
