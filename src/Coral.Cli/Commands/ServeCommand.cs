using System.CommandLine;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Hosting;
using Coral.Pipeline.LocalStorage;
using Coral.Pipeline.Models;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Logging;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral serve`: the local host. Starts a private Azurite unless a connection is given, then runs the same
/// handlers as the Functions apps (blob scan of incoming/ → scorer; longtail-jobs → generator) until Ctrl-C.
/// </summary>
public static class ServeCommand
{
    public static Option<string?> ConnectionOption() => new("--connection")
    {
        Description = $"storage connection string (default: ${Settings.StorageConnection}; serve starts a private Azurite if neither is set)",
    };

    /// <summary>--connection, else the environment setting; null if neither.</summary>
    public static string? Connection(ParseResult parse, Option<string?> option) =>
        parse.GetValue(option) is { Length: > 0 } c ? c : Environment.GetEnvironmentVariable(Settings.StorageConnection) is { Length: > 0 } e ? e : null;

    public static ILoggerFactory Loggers(bool json) => LoggerFactory.Create(b =>
    {
        if (json) b.AddJsonConsole(o => { o.IncludeScopes = true; o.TimestampFormat = "O"; });
        else b.AddSimpleConsole(o => { o.IncludeScopes = true; o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
    });

    public static Command Create()
    {
        var connection = ConnectionOption();
        var classifier = new Option<string>("--classifier") { Description = "classifier bundle folder or .ckpt", DefaultValueFactory = _ => Defaults.ClassifierPath };
        var diffusion = new Option<string>("--diffusion") { Description = "diffusion model folder", DefaultValueFactory = _ => Defaults.DiffusionPath };
        var threshold = new Option<double?>("--threshold") { Description = "flag threshold on the signal (default: the classifier's calibrated one)" };
        var images = new Option<int>("--images-per-job") { Description = "synthetic images per flagged input", DefaultValueFactory = _ => Defaults.ImagesPerJob };
        var untilIdle = new Option<bool>("--until-idle") { Description = "exit once every incoming blob is scored and the job queue is empty" };
        var scan = new Option<int>("--scan-interval-ms") { Description = "how often incoming/ is listed", DefaultValueFactory = _ => 1000 };
        var visibility = new Option<int>("--visibility-timeout") { Description = "seconds a failed job waits before its next try", DefaultValueFactory = _ => Defaults.VisibilityTimeoutSeconds };
        var prefix = new Option<string>("--name-prefix") { Description = "prefix for every container/queue name (several pipelines in one account)", DefaultValueFactory = _ => "" };
        var json = new Option<bool>("--json-logs") { Description = "structured JSON log lines" };
        var command = new Command("serve", "Run the pipeline locally: score new blobs in incoming/, generate batches for flagged ones.")
        {
            connection, classifier, diffusion, threshold, images, untilIdle, scan, visibility, prefix, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            using var loggers = Loggers(parse.GetValue(json));
            var log = loggers.CreateLogger("coral.serve");
            await using var azurite = Connection(parse, connection) is null ? await AzuriteServer.StartAsync(ct: ct) : null;
            string cs = Connection(parse, connection) ?? azurite!.ConnectionString;
            if (azurite is not null)
            {
                Console.WriteLine(AzuriteCommand.ConnectionStringPrefix + cs);
                log.LogInformation("Started a private Azurite (blob {BlobPort}, queue {QueuePort}); it stops with this process", azurite.BlobPort, azurite.QueuePort);
            }
            var storage = PipelineStorage.FromConnectionString(cs, parse.GetValue(prefix) ?? "");
            var settings = new Dictionary<string, string?>
            {
                [Settings.ClassifierPath] = parse.GetValue(classifier),
                [Settings.DiffusionPath] = parse.GetValue(diffusion),
            };
            var scorer = PipelineFactory.LoadScorer(k => settings.GetValueOrDefault(k));
            log.LogInformation("Classifier {Version} loaded", scorer.ModelVersion);
            GenerateHandler? generator = null;
            try
            {
                generator = new GenerateHandler(storage, PipelineFactory.LoadGenerator(k => settings.GetValueOrDefault(k), scorer), loggers.CreateLogger<GenerateHandler>());
            }
            catch (ModelUnavailableException e)
            {
                log.LogError("Generator unavailable, scoring only: {Reason}", e.Message);
            }
            var scoreHandler = new ScoreHandler(storage, scorer,
                new ScoringOptions { Threshold = parse.GetValue(threshold), ImagesPerJob = parse.GetValue(images) }, loggers.CreateLogger<ScoreHandler>());
            var host = new LocalHost(storage, scoreHandler, generator, new LocalHostOptions
            {
                ScanInterval = TimeSpan.FromMilliseconds(Math.Max(50, parse.GetValue(scan))),
                UntilIdle = parse.GetValue(untilIdle),
                Queue = new QueueConsumerOptions { VisibilityTimeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(visibility))) },
            }, loggers);
            await host.RunAsync(ct);
            return 0;
        });
        return command;
    }
}
