using Azure.Storage.Queues.Models;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Storage;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Coral.LocalHost.Tests;

[Collection(AzuriteCollection.Name)]
public class QueueConsumerTests(AzuriteFixture azurite)
{
    private static QueueConsumer Consumer(PipelineStorage s, int visibilitySeconds = 1) =>
        new(s.Jobs, s.JobsPoison, new QueueConsumerOptions { VisibilityTimeout = TimeSpan.FromSeconds(visibilitySeconds), MaxPollDelay = TimeSpan.FromMilliseconds(200) },
            NullLogger.Instance);

    [Fact]
    public async Task A_job_too_large_to_wrap_in_the_poison_queue_is_kept_as_a_blob_and_replay_restores_it()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        // 45,000 characters of JSON fit the queue (60 KB as base64); wrapped in the envelope every quote is escaped, and the
        // envelope (84 KB as base64) is over the 64 KiB limit: moving it to poison used to fail with 413, try after try.
        string big = "[" + string.Join(",", Enumerable.Repeat("\"ab\"", 9000)) + "]";
        PoisonMessages.FitsInQueue(big).Should().BeTrue();
        await s.Jobs.SendMessageAsync(big);
        var consumer = new QueueConsumer(s.Jobs, s.JobsPoison, new QueueConsumerOptions { VisibilityTimeout = TimeSpan.FromSeconds(1), MaxPollDelay = TimeSpan.FromMilliseconds(200) },
            NullLogger.Instance, s.Staging);
        (await consumer.ProcessOneAsync((_, _) => throw new Coral.Pipeline.Generation.PermanentJobException("big", "cannot ever succeed"), default)).Should().BeTrue();

        (await s.Jobs.GetPropertiesAsync()).Value.ApproximateMessagesCount.Should().Be(0, "it left the jobs queue");
        var poisoned = (await s.JobsPoison.PeekMessagesAsync(5)).Value;
        poisoned.Should().ContainSingle();
        var small = PipelineJson.Deserialize<PoisonEnvelope>(BinaryData.FromString(poisoned[0].MessageText), "poison");
        small.OriginalMessage.Should().BeEmpty();
        small.Reason.Should().Contain("cannot ever succeed");
        small.EnvelopeBlob.Should().Be($"{s.Staging.Name}/{BlobPaths.PoisonEnvelope(s.JobsPoison.Name, small.MessageId)}");
        (await PoisonMessages.OriginalAsync(small, s.Staging, "test", default)).Should().Be(big);

        (await PoisonReplay.ReplayAsync(s, 10, NullLogger.Instance, default)).Should().Be(1);
        var back = (await s.Jobs.ReceiveMessagesAsync(1)).Value;
        back.Should().ContainSingle().Which.MessageText.Should().Be(big, "replay puts the original job back, whole");
        (await s.Staging.GetBlobClient(BlobPaths.PoisonEnvelope(s.JobsPoison.Name, small.MessageId)).ExistsAsync()).Value.Should().BeFalse("the blob goes with its message");
    }

    [Fact]
    public async Task A_handled_message_is_deleted()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.Jobs.SendMessageAsync("hello");
        string? seen = null;
        (await Consumer(s).ProcessOneAsync((m, _) => { seen = m.MessageText; return Task.CompletedTask; }, default)).Should().BeTrue();
        seen.Should().Be("hello");
        (await s.Jobs.GetPropertiesAsync()).Value.ApproximateMessagesCount.Should().Be(0);
    }

    /// <summary>
    /// Puts <paramref name="text"/> on the job queue raw (not base64), then a good message, and consumes: the good one must be
    /// handled, the raw one must end as the single poison envelope returned, and the job queue must be empty.
    /// </summary>
    private async Task<PoisonEnvelope> PoisonRawAsync(PipelineStorage s, string text)
    {
        var raw = new Azure.Storage.Queues.QueueClient(azurite.ConnectionString, s.Jobs.Name, new Azure.Storage.Queues.QueueClientOptions { MessageEncoding = Azure.Storage.Queues.QueueMessageEncoding.None });
        await raw.SendMessageAsync(text);
        await s.Jobs.SendMessageAsync("good");
        var seen = new List<string>();
        var consumer = Consumer(s);
        for (int i = 0; i < 3 && seen.Count == 0; i++)
            await consumer.ProcessOneAsync((m, _) => { seen.Add(m.MessageText); return Task.CompletedTask; }, default);
        seen.Should().Equal("good");
        var poisoned = (await s.JobsPoison.ReceiveMessagesAsync(5)).Value;
        poisoned.Should().ContainSingle();
        (await s.Jobs.GetPropertiesAsync()).Value.ApproximateMessagesCount.Should().Be(0);
        return PipelineJson.Deserialize<PoisonEnvelope>(BinaryData.FromString(poisoned[0].MessageText), "poison");
    }

    [Fact]
    public async Task A_message_that_is_not_base64_goes_to_poison_with_its_reason_and_the_next_one_is_handled()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        // Another producer wrote raw text where the pipeline expects base64: every receive used to fail on it.
        var envelope = await PoisonRawAsync(s, "{not base64!}");

        envelope.OriginalMessage.Should().Be("{not base64!}");
        envelope.Reason.Should().Contain("not valid base64");
    }

    [Fact]
    public async Task An_undecodable_message_too_large_to_wrap_is_kept_whole_in_a_blob_and_the_queue_moves_on()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        string big = "{" + new string('x', 50_000) + "!}"; // fits the queue raw; as base64 inside an envelope it would not

        var envelope = await PoisonRawAsync(s, big);

        envelope.EnvelopeBlob.Should().StartWith(s.Staging.Name + "/" + BlobPaths.PoisonEnvelopesPrefix);
        (await PoisonMessages.OriginalAsync(envelope, s.Staging, "poison", default)).Should().Be(big, "nothing of the message is lost");
    }

    [Fact]
    public async Task A_message_that_always_fails_is_tried_five_times_then_poisoned_with_the_reason()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.Jobs.SendMessageAsync("doomed");
        var tries = new List<long>();
        var consumer = Consumer(s);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = consumer.RunAsync((m, _) => { lock (tries) tries.Add(m.DequeueCount); throw new IOException("disk on fire"); }, cts.Token);

        QueueMessage? poisoned = null;
        await PipelineTestStorage.WaitUntilAsync(async () =>
        {
            var r = (await s.JobsPoison.PeekMessagesAsync(1)).Value;
            return r.Length == 1;
        }, TimeSpan.FromSeconds(45), "the poison message");
        cts.Cancel();
        await run;
        poisoned = (await s.JobsPoison.ReceiveMessagesAsync(1)).Value.Single();

        tries.Should().Equal(1, 2, 3, 4, 5);
        var env = PipelineJson.Deserialize<PoisonEnvelope>(BinaryData.FromString(poisoned.MessageText), "poison");
        env.OriginalMessage.Should().Be("doomed");
        env.Reason.Should().Contain("failed 5 times").And.Contain("disk on fire");
        (await s.Jobs.GetPropertiesAsync()).Value.ApproximateMessagesCount.Should().Be(0);
    }

    [Fact]
    public async Task A_message_whose_hosts_kept_crashing_is_poisoned_without_running_again()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.Jobs.SendMessageAsync("crashy");
        // Five receives without delete or failure handling = five hosts that died mid-run.
        for (int i = 0; i < 5; i++)
        {
            var m = (await s.Jobs.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1))).Value.Single();
            await s.Jobs.UpdateMessageAsync(m.MessageId, m.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        }
        bool ran = false;
        (await Consumer(s).ProcessOneAsync((_, _) => { ran = true; return Task.CompletedTask; }, default)).Should().BeTrue();

        ran.Should().BeFalse();
        var env = PipelineJson.Deserialize<PoisonEnvelope>(BinaryData.FromString((await s.JobsPoison.ReceiveMessagesAsync(1)).Value.Single().MessageText), "poison");
        env.Reason.Should().Contain("crashed");
        env.DequeueCount.Should().Be(6);
    }

    [Fact]
    public async Task Long_runs_keep_their_message_invisible()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.Jobs.SendMessageAsync("long");
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        // 2 s visibility, renewed every 1 s: a loaded machine (the full suite on 2 shared cores) can delay a renewal by
        // well over the 0.5 s slack a 1 s visibility leaves, and the message then reappears although the run is alive.
        var work = Consumer(s, visibilitySeconds: 2).ProcessOneAsync(async (_, _) => { started.SetResult(); await release.Task; }, default);
        await started.Task;
        // Several visibility periods pass; another consumer must never get the message meanwhile.
        var deadline = DateTime.UtcNow.AddSeconds(6);
        while (DateTime.UtcNow < deadline)
            (await s.Jobs.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1))).Value.Should().BeEmpty();
        release.SetResult();
        await work;
        (await s.Jobs.GetPropertiesAsync()).Value.ApproximateMessagesCount.Should().Be(0);
    }

    [Fact]
    public async Task Replay_puts_poisoned_messages_back_unwrapped()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await s.JobsPoison.SendMessageAsync(PipelineJson.Serialize(new PoisonEnvelope("job-a", "id1", 5, "boom", "q", DateTimeOffset.UtcNow)).ToString());
        await s.JobsPoison.SendMessageAsync("raw-from-functions-host");

        (await PoisonReplay.ReplayAsync(s, 100, NullLogger.Instance, default)).Should().Be(2);

        var back = (await s.Jobs.ReceiveMessagesAsync(10)).Value.Select(m => m.MessageText);
        back.Should().BeEquivalentTo(["job-a", "raw-from-functions-host"]);
        (await s.JobsPoison.PeekMessagesAsync(1)).Value.Should().BeEmpty();
    }
}
