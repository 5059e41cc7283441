using Coral.LocalHost.Bench;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline;
using Coral.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Coral.LocalHost.Tests;

/// <summary>The bench's run and audit over the real composition and local host, with the test doubles behind the ML seams.</summary>
[Collection(AzuriteCollection.Name)]
public class PipelineBenchTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_clean_run_passes_every_check_and_counts_every_input()
    {
        var prefix = "b" + Guid.NewGuid().ToString("N")[..10] + "-";
        var builder = LocalHostBuilder.Create(new Dictionary<string, string?>
        {
            [Settings.StorageConnection] = azurite.ConnectionString,
            [Settings.ImagesPerJob] = "2",
            [$"{PipelineServices.Section}:{nameof(StorageOptions.NamePrefix)}"] = prefix,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddCoralPipeline(builder.Configuration);
        builder.Services.AddSingleton<IImageScorer>(new FakeImageScorer());
        builder.Services.AddSingleton<ILongtailBatchGenerator>(new FakeBatchGenerator());
        builder.Services.AddCoralLocalHost(new LocalHostOptions { ScanInterval = TimeSpan.FromMilliseconds(100) });
        using var host = builder.Build();
        BenchInput[] good = [.. Enumerable.Range(0, 4).Select(i => new BenchInput($"good/{(i % 2 == 0 ? "flag" : "plain")}-{i}.png", TestPngs.Make(i)))];

        var result = await PipelineBench.RunAsync(host, good, "good/", [], generatorRuns: true, TimeSpan.FromMinutes(2), progress: null, default);

        result.Problems.Should().BeEmpty();
        result.GoodRecords.Should().HaveCount(4);
        (result.Audit.Flagged, result.Audit.CompleteBatches, result.Audit.QueueMessages).Should().Be((2, 2, 0));
        result.Latencies.Should().HaveCount(4).And.OnlyContain(l => l > TimeSpan.Zero);
    }
}
