using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Configuration;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using static Coral.Testing.PipelineTestKit;

namespace Coral.LocalHost.Tests;

/// <summary>The scan loop survives failures that are not <c>RequestFailedException</c> (an outage ends in the SDK's
/// AggregateException "Retry failed after 6 tries", which used to kill `coral serve`).</summary>
[Collection(AzuriteCollection.Name)]
public class StorageFailureTests(AzuriteFixture azurite)
{
    /// <summary>Fails the first <paramref name="failures"/> blob listings the way an exhausted retry does.</summary>
    private sealed class FailingListings(int failures) : HttpPipelineSynchronousPolicy
    {
        private int left = failures;
        public int Thrown => failures - Math.Max(0, left);

        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Uri.Query.Contains("comp=list") && Interlocked.Decrement(ref left) >= 0)
                throw new AggregateException("Retry failed after 6 tries.", new IOException("connection refused (injected)"));
        }
    }

    /// <summary>The first <paramref name="stalls"/> listings never get a response (as Azurite does for some names): only the timeout ends them.</summary>
    private sealed class StalledListings(int stalls) : HttpPipelinePolicy
    {
        private readonly int total = stalls;
        private int left = stalls;
        public int Stalled => total - Math.Max(0, left);

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Uri.Query.Contains("comp=list") && Interlocked.Decrement(ref left) >= 0)
                await Task.Delay(Timeout.Infinite, message.CancellationToken);
            await ProcessNextAsync(message, pipeline);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException("async only");
    }

    [Fact]
    public async Task A_listing_that_never_answers_times_out_and_scanning_goes_on()
    {
        var plain = await PipelineTestStorage.CreateAsync(azurite);
        for (int i = 0; i < 3; i++) await plain.Incoming.GetBlobClient($"field/stall-{i}.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(i)));
        var stalled = new StalledListings(3);
        var options = StorageClients.WithTimeout(new BlobClientOptions(), TimeSpan.FromSeconds(1));
        options.Retry.MaxRetries = 1;
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        // Beside the transport: where a stalled network sits, inside the SDK's per-try timeout.
        options.AddPolicy(stalled, HttpPipelinePosition.BeforeTransport);
        var s = new PipelineStorage(new BlobServiceClient(azurite.ConnectionString, options), plain.QueueService, plain.Prefix);
        var logs = new ListLoggerProvider();
        var host = new LocalPipelineHost(s,
            new ScoreHandler(s, new FakeImageScorer(), new ScoringOptions { ImagesPerJob = 2 }, NullLogger<ScoreHandler>.Instance),
            Generator(s), new LocalHostOptions { ScanInterval = TimeSpan.FromMilliseconds(50), UntilIdle = true, HeartbeatInterval = TimeSpan.FromMilliseconds(100) },
            LoggerFactory.Create(b => b.AddProvider(logs)));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await host.RunAsync(cts.Token);

        stalled.Stalled.Should().Be(3, "three listings hung until their timeout");
        host.Liveness.ScanFailures.Should().BeGreaterThan(0);
        host.Liveness.LastGoodScan.Should().NotBeNull().And.BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromSeconds(30));
        host.Liveness.LastGoodQueuePoll.Should().NotBeNull("the queue was polled while the scan recovered");
        logs.Lines.Should().Contain(l => l.Contains("Stopped; last good scan") && l.Contains("failed)"));
        logs.Lines.Should().Contain(l => l.Contains("Alive: last good scan"), "the heartbeat says when the loops last worked");
        (await NamesAsync(plain.Scores)).Should().HaveCount(3, "the scan gave up on the hung listings, logged, and scored everything after");
        logs.Lines.Should().Contain(l => l.Contains("Scan of") && l.Contains("failed")).And.Contain(l => l.Contains("works again"));
    }

    [Fact]
    public void The_network_timeout_comes_from_one_setting_with_a_default_and_bad_values_are_refused()
    {
        var none = new ConfigurationBuilder().Build();
        StorageClients.NetworkTimeout(none).Should().Be(TimeSpan.FromSeconds(Coral.Pipeline.Names.Defaults.StorageNetworkTimeoutSeconds));
        var set = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [Coral.Pipeline.Names.Settings.StorageNetworkTimeoutSeconds] = "7.5" }).Build();
        StorageClients.NetworkTimeout(set).Should().Be(TimeSpan.FromSeconds(7.5));
        var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [Coral.Pipeline.Names.Settings.StorageNetworkTimeoutSeconds] = "soon" }).Build();
        var act = () => StorageClients.NetworkTimeout(bad);
        act.Should().Throw<StorageConfigurationException>().WithMessage("*Coral__StorageNetworkTimeoutSeconds='soon'*");
        PipelineStorage.FromConnectionString(azurite.ConnectionString).Blobs.Should().NotBeNull();
    }

    [Fact]
    public async Task Serve_keeps_scanning_through_listing_failures_and_scores_everything()
    {
        var plain = await PipelineTestStorage.CreateAsync(azurite);
        for (int i = 0; i < 4; i++) await plain.Incoming.GetBlobClient($"field/ok-{i}.png").UploadAsync(BinaryData.FromBytes(TestPngs.Make(i)));
        var failing = new FailingListings(3);
        var options = new BlobClientOptions();
        options.AddPolicy(failing, HttpPipelinePosition.PerCall);
        var s = new PipelineStorage(new BlobServiceClient(azurite.ConnectionString, options), plain.QueueService, plain.Prefix);
        var host = new LocalPipelineHost(s,
            new ScoreHandler(s, new FakeImageScorer(), new ScoringOptions { ImagesPerJob = 2 }, NullLogger<ScoreHandler>.Instance),
            Generator(s), new LocalHostOptions { ScanInterval = TimeSpan.FromMilliseconds(50), UntilIdle = true }, NullLoggerFactory.Instance);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await host.RunAsync(cts.Token);

        failing.Thrown.Should().Be(3, "the listings did fail");
        var records = await NamesAsync(plain.Scores);
        records.Should().HaveCount(4, "after the failures the host went on and scored every input once");
    }
}
