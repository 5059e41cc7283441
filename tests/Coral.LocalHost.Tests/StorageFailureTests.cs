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
