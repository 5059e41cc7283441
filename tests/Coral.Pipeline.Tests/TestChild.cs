using Coral.Pipeline.Generation;
using Coral.Pipeline.Hosting;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Coral.Testing;
using Microsoft.Extensions.Logging;

namespace Coral.Pipeline.Tests;

/// <summary>
/// Entry point of this assembly. Under the test runner it is never called; the crash tests start the
/// assembly as `dotnet Coral.Pipeline.Tests.dll serve-child ...`: the same LocalHost `coral serve` runs,
/// with the test doubles for the ML seams, so it can be SIGKILLed mid-job.
/// </summary>
public static class TestChild
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 4 || args[0] != "serve-child") return 0;
        string connection = args[1], prefix = args[2], releaseFile = args[3];
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.IncludeScopes = true; o.SingleLine = true; }));
        var storage = PipelineStorage.FromConnectionString(connection, prefix);
        var generator = new FakeBatchGenerator
        {
            // Block mid-job until the test says go: the first child is killed while waiting here.
            Gate = async ct => { while (!File.Exists(releaseFile)) await Task.Delay(50, ct); },
        };
        var host = new LocalHost(storage,
            new ScoreHandler(storage, new FakeImageScorer(), new ScoringOptions { ImagesPerJob = 4 }, loggers.CreateLogger<ScoreHandler>()),
            new GenerateHandler(storage, generator, loggers.CreateLogger<GenerateHandler>(), TimeSpan.FromSeconds(15)),
            new LocalHostOptions
            {
                ScanInterval = TimeSpan.FromMilliseconds(200),
                Queue = new QueueConsumerOptions { VisibilityTimeout = TimeSpan.FromSeconds(3), BusyRetryDelay = TimeSpan.FromSeconds(15) },
            },
            loggers);
        var cts = new CancellationTokenSource(); // not disposed: the exit handlers may still fire late
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        await host.RunAsync(cts.Token);
        return 0;
    }
}
