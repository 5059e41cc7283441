using System.Reflection;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Azure.Storage.Queues.Models;
using Coral.Functions.Generator;
using Coral.Functions.Scorer;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline;
using Coral.Testing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging.Abstractions;

namespace Coral.Functions.Tests;

/// <summary>xUnit v2 only honours collection definitions declared in the test assembly itself.</summary>
[CollectionDefinition(AzuriteCollection.Name)]
public sealed class AzuriteCollectionDefinition : ICollectionFixture<AzuriteFixture>;

/// <summary>The function methods, called directly over Azurite, and their bindings as the host will read them.</summary>
[Collection(AzuriteCollection.Name)]
public class FunctionTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Score_function_writes_the_record_and_returns_a_job_message_for_a_flagged_image()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var blob = s.Incoming.GetBlobClient("flag-fn.png");
        await blob.UploadAsync(BinaryData.FromBytes(TestPngs.Make(3)));
        var fn = new ScoreFunction(new ScoreHandler(s, new FakeImageScorer(), new ScoringOptions { ImagesPerJob = 2 }, NullLogger<ScoreHandler>.Instance));

        var output = await fn.Run(blob, blob.Name, default);

        var job = PipelineJson.Deserialize<LongtailJob>(BinaryData.FromString(output.Job!), "output");
        (await s.Scores.GetBlobClient(BlobPaths.ScoreRecord(job.JobId)).ExistsAsync()).Value.Should().BeTrue();

        // The generator function consumes exactly that message.
        var gen = new GenerateFunction(new GenerateHandler(s, new FakeBatchGenerator(), NullLogger<GenerateHandler>.Instance, TimeSpan.FromSeconds(15)));
        var message = QueuesModelFactory.QueueMessage("m1", "p1", output.Job!, 1);
        (await gen.Run(message, default)).Should().Be(GenerateOutcome.Generated);
        (await gen.Run(message, default)).Should().Be(GenerateOutcome.AlreadyDone, "a redelivered message changes nothing");
        (await s.Manifests.GetBlobClient(BlobPaths.Manifest(job.JobId)).ExistsAsync()).Value.Should().BeTrue();
    }

    [Fact]
    public async Task Score_function_sends_nothing_for_an_unflagged_or_bad_image()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var fn = new ScoreFunction(new ScoreHandler(s, new FakeImageScorer(), new ScoringOptions(), NullLogger<ScoreHandler>.Instance));
        var ok = s.Incoming.GetBlobClient("plain.png");
        await ok.UploadAsync(BinaryData.FromBytes(TestPngs.Make(1)));
        var bad = s.Incoming.GetBlobClient("flag-bad.png");
        await bad.UploadAsync(BinaryData.FromString("not an image"));

        (await fn.Run(ok, ok.Name, default)).Job.Should().BeNull();
        (await fn.Run(bad, bad.Name, default)).Job.Should().BeNull();
    }

    [Fact]
    public async Task Generator_function_poisons_a_broken_message_with_its_reason_instead_of_throwing()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var gen = new GenerateFunction(new GenerateHandler(s, new FakeBatchGenerator(), NullLogger<GenerateHandler>.Instance));
        (await gen.Run(QueuesModelFactory.QueueMessage("m2", "p2", "{ broken", 1), default)).Should().Be(GenerateOutcome.Poisoned);
        (await s.JobsPoison.PeekMessagesAsync(1)).Value.Should().ContainSingle();
    }

    [Fact]
    public void Bindings_use_the_shared_names_and_event_grid()
    {
        var run = typeof(ScoreFunction).GetMethod(nameof(ScoreFunction.Run))!;
        run.GetCustomAttribute<FunctionAttribute>()!.Name.Should().Be(FunctionNames.Score);
        var trigger = run.GetParameters()[0].GetCustomAttribute<BlobTriggerAttribute>()!;
        trigger.BlobPath.Should().Be(Containers.Incoming + "/{name}");
        trigger.Source.Should().Be(BlobTriggerSource.EventGrid);
        trigger.Connection.Should().Be(Settings.StorageConnection);
        run.GetParameters()[0].ParameterType.Should().Be<BlobClient>("bind a client, not the bytes, for large blobs");
        var output = typeof(ScoreOutput).GetProperty(nameof(ScoreOutput.Job))!.GetCustomAttribute<QueueOutputAttribute>()!;
        output.QueueName.Should().Be(Queues.LongtailJobs);

        var gen = typeof(GenerateFunction).GetMethod(nameof(GenerateFunction.Run))!;
        var qt = gen.GetParameters()[0].GetCustomAttribute<QueueTriggerAttribute>()!;
        qt.QueueName.Should().Be(Queues.LongtailJobs);
        qt.Connection.Should().Be(Settings.StorageConnection);
    }

    [Fact]
    public void Host_json_matches_the_shared_defaults()
    {
        var extensions = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("host.json")))!["extensions"]!;
        var queues = extensions["queues"]!;
        queues["batchSize"]!.GetValue<int>().Should().Be(Defaults.GeneratorBatchSize);
        queues["maxDequeueCount"]!.GetValue<int>().Should().Be(Defaults.MaxDequeueCount);
        TimeSpan.Parse(queues["visibilityTimeout"]!.GetValue<string>()).Should().Be(TimeSpan.FromSeconds(Defaults.VisibilityTimeoutSeconds));
        TimeSpan.Parse(queues["visibilityTimeout"]!.GetValue<string>()).Should().BeGreaterThan(TimeSpan.FromSeconds(Defaults.JobLeaseSeconds),
            "a retry must come after a dead worker's job lease expired");
        queues["messageEncoding"]!.GetValue<string>().Should().Be(Defaults.QueueMessageEncoding, "the producer's encoding is the consumer's");
        extensions["blobs"]!["poisonBlobThreshold"]!.GetValue<int>().Should().Be(Defaults.BlobPoisonThreshold);
    }

    [Theory]
    [InlineData("Coral.Functions.Scorer")]
    [InlineData("Coral.Functions.Generator")]
    public void Each_built_app_carries_the_one_host_json(string app)
    {
        File.ReadAllText(Path.Combine(RepoPaths.BuildOutput(app), "host.json")).Should().Be(File.ReadAllText(RepoPaths.Combine("host.json")));
        Directory.GetFiles(RepoPaths.Combine("src", app), "host.json", SearchOption.TopDirectoryOnly).Should().BeEmpty("there is one host.json, at the top");
    }
}
