using Azure.Storage.Blobs.Models;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Manifests;
using Coral.Testing;
using static Coral.Testing.PipelineTestKit;

namespace Coral.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public class GenerateHandlerTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_job_writes_its_images_page_and_manifest_with_matching_hashes()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s, images: 4);

        (await Generator(s).HandleAsync(job, default)).Should().Be(GenerateOutcome.Generated);

        (await NamesAsync(s.Synthetic)).Should().BeEquivalentTo(Enumerable.Range(0, 4).Select(i => $"{job.JobId}/{i}.png"));
        (await NamesAsync(s.Manifests)).Should().BeEquivalentTo([$"{job.JobId}.json", $"{job.JobId}.html"]);
        var manifest = (await new Review.ReviewService(s).ReadAsync(job.JobId, default)).Manifest;
        manifest.Source.Should().Be(job.Source);
        manifest.Images.Should().HaveCount(4).And.OnlyContain(i => i.Status == ReviewStatus.Pending);
        foreach (var img in manifest.Images)
        {
            var bytes = (await s.Synthetic.GetBlobClient(img.Path).DownloadContentAsync()).Value.Content.ToArray();
            GenerateHandler.Sha256(bytes).Should().Be(img.Sha256);
            img.Seed.Should().Be(job.SeedFor(img.Index));
        }
        (await NamesAsync(s.Staging, s.Synthetic.Name + "/")).Should().BeEmpty("staged images are cleaned up");
    }

    [Fact]
    public async Task Redelivered_and_concurrent_duplicate_jobs_produce_one_batch()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s);
        var gen = new FakeBatchGenerator();

        var outcomes = new List<object>();
        var tasks = Enumerable.Range(0, 3).Select(async _ =>
        {
            try { return (object)await Generator(s, gen).HandleAsync(job, default); }
            catch (JobBusyException e) { return e; }
        });
        outcomes.AddRange(await Task.WhenAll(tasks));
        // Whoever was busy retries later, as the queue would redeliver it.
        (await Generator(s, gen).HandleAsync(job, default)).Should().Be(GenerateOutcome.AlreadyDone);

        outcomes.Count(o => o is GenerateOutcome.Generated).Should().Be(1);
        (await NamesAsync(s.Manifests, job.JobId + ".json")).Should().HaveCount(1);
        (await NamesAsync(s.Synthetic)).Should().HaveCount(job.ImageCount);
    }

    [Fact]
    public async Task A_crash_mid_job_leaves_no_manifest_and_the_retry_completes_the_batch()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s);
        var gen = new FakeBatchGenerator { FailuresBeforeSuccess = 1 };

        await FluentActions.Awaiting(() => Generator(s, gen).HandleAsync(job, default)).Should().ThrowAsync<IOException>();
        (await NamesAsync(s.Manifests)).Should().BeEmpty();

        (await Generator(s, gen).HandleAsync(job, default)).Should().Be(GenerateOutcome.Generated);
        (await NamesAsync(s.Synthetic)).Should().HaveCount(job.ImageCount);
    }

    [Fact]
    public async Task A_job_whose_source_was_overwritten_is_poisoned_at_once_with_the_reason()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s, name: "flag-changing.png");
        await s.Incoming.GetBlobClient("flag-changing.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(99)), overwrite: true);

        var outcome = await Generator(s).HandleMessageAsync(PipelineJson.Serialize(job).ToString(), "m1", 1, default);

        outcome.Should().Be(GenerateOutcome.Poisoned);
        var poisoned = (await s.JobsPoison.ReceiveMessagesAsync(1)).Value.Single();
        var env = PipelineJson.Deserialize<PoisonEnvelope>(BinaryData.FromString(poisoned.MessageText), "poison");
        env.Reason.Should().Contain("overwritten");
        PipelineJson.Deserialize<LongtailJob>(BinaryData.FromString(env.OriginalMessage), "original").JobId.Should().Be(job.JobId);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"jobId\":\"../../x\"}")]
    public async Task Unreadable_messages_are_poisoned_not_retried(string text)
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        (await Generator(s).HandleMessageAsync(text, "m2", 1, default)).Should().Be(GenerateOutcome.Poisoned);
        (await s.JobsPoison.ReceiveMessagesAsync(1)).Value.Should().HaveCount(1);
    }
}
