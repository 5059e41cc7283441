using Coral.LocalHost.Serving;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline;
using Coral.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Coral.LocalHost.Tests;

/// <summary>
/// Entry point of this assembly. Under the test runner it is never called; the crash tests start the
/// assembly as `dotnet Coral.LocalHost.Tests.dll serve-child ...`: the same composition and local host
/// `coral serve` runs, with the test doubles for the ML seams, so it can be SIGKILLed mid-job.
/// </summary>
public static class TestChild
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 4 || args[0] != "serve-child") return 0;
        string connection = args[1], prefix = args[2], releaseFile = args[3];
        var builder = LocalHostBuilder.Create(new Dictionary<string, string?>
        {
            [Settings.StorageConnection] = connection,
            [Settings.ImagesPerJob] = "4",
            [$"{PipelineServices.Section}:{nameof(StorageOptions.NamePrefix)}"] = prefix,
            [$"{PipelineServices.Section}:{nameof(GenerationOptions.JobLeaseSeconds)}"] = "15",
        });
        builder.Logging.ClearProviders().AddSimpleConsole(o => { o.IncludeScopes = true; o.SingleLine = true; });
        builder.Services.AddCoralPipeline(builder.Configuration);
        builder.Services.AddSingleton<IImageScorer>(new FakeImageScorer());
        builder.Services.AddSingleton<ILongtailBatchGenerator>(new FakeBatchGenerator
        {
            // Block mid-job until the test says go: the first child is killed while waiting here.
            Gate = async ct => { while (!File.Exists(releaseFile)) await Task.Delay(50, ct); },
        });
        builder.Services.AddCoralLocalHost(new LocalHostOptions
        {
            ScanInterval = TimeSpan.FromMilliseconds(200),
            Queue = new QueueConsumerOptions { VisibilityTimeout = TimeSpan.FromSeconds(3), BusyRetryDelay = TimeSpan.FromSeconds(15) },
        });
        using var host = builder.Build();
        await host.RunAsync(); // Ctrl-C / SIGTERM stop it; in-flight messages are handed back
        return 0;
    }
}
