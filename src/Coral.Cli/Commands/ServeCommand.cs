using System.CommandLine;
using Coral.LocalHost.Audit;
using Coral.LocalHost.Azurite;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Introspection;
using Coral.Pipeline.Models.Diffusion;
using Coral.Pipeline.Models.Introspection;
using Coral.Pipeline.Models;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Coral.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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

    /// <summary>Configuration key of the container/queue name prefix (a local knob, never deployed).</summary>
    public static readonly string NamePrefixSetting = $"{PipelineServices.Section}:{nameof(StorageOptions.NamePrefix)}";

    public static string? Invariant<T>(T? value) where T : struct, IFormattable =>
        value?.ToString(null, System.Globalization.CultureInfo.InvariantCulture);

    public static string? Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static void UseConsoleLogs(ILoggingBuilder logging, bool json)
    {
        logging.ClearProviders();
        if (json) logging.AddJsonConsole(o => { o.IncludeScopes = true; o.TimestampFormat = "O"; });
        else logging.AddSimpleConsole(o => { o.IncludeScopes = true; o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
    }

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
        var export = new Option<string?>("--export") { Description = "after --until-idle, copy manifests + review pages here (default runs/serve when serve started its own, in-memory Azurite)" };
        var upload = new Option<int>("--upload-fashion-mnist") { Description = "first upload this many real Fashion-MNIST test images to incoming/ as field data (demo)" };
        var uploadDir = new Option<string?>("--upload") { Description = "first upload every image in this folder (recursively) to incoming/<folder name>/ (your own field images)" };
        // Introspection (optional): the key comes from the environment only, never from the command line (shell history, ps).
        var openAiEndpoint = new Option<string?>("--openai-endpoint") { Description = $"Azure OpenAI endpoint for longtail introspection (default: ${Settings.OpenAiEndpoint}; off when unset). Key from ${SecretSettings.OpenAiKey}, else Entra ID" };
        var openAiDeployment = new Option<string?>("--openai-deployment") { Description = $"vision chat deployment for introspection (default: ${Settings.OpenAiDeployment})" };
        var command = new Command("serve", "Run the pipeline locally: score new blobs in incoming/, generate batches for flagged ones.")
        {
            connection, classifier, diffusion, threshold, images, untilIdle, scan, visibility, prefix, json, upload, uploadDir, export,
            openAiEndpoint, openAiDeployment,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            await using var azurite = Connection(parse, connection) is null ? await AzuriteServer.StartAsync(ct: ct) : null;
            string cs = Connection(parse, connection) ?? azurite!.ConnectionString;
            if (azurite is not null) Console.WriteLine(AzuriteCommand.ConnectionStringPrefix + cs);
            // Options beat the environment; the OpenAI key comes from the environment only.
            var builder = LocalHostBuilder.Create(new Dictionary<string, string?>
            {
                [Settings.StorageConnection] = cs,
                [NamePrefixSetting] = parse.GetValue(prefix),
                [Settings.ClassifierPath] = parse.GetValue(classifier),
                [Settings.DiffusionPath] = parse.GetValue(diffusion),
                [Settings.ScoreThreshold] = Invariant(parse.GetValue(threshold)),
                [Settings.ImagesPerJob] = Invariant(parse.GetValue(images)),
                [Settings.OpenAiEndpoint] = parse.GetValue(openAiEndpoint),
                [Settings.OpenAiDeployment] = parse.GetValue(openAiDeployment),
            });
            UseConsoleLogs(builder.Logging, parse.GetValue(json));
            builder.Services.AddCoralScorer(builder.Configuration).AddCoralGenerator(builder.Configuration).AddCoralLocalHost(new LocalHostOptions
            {
                ScanInterval = TimeSpan.FromMilliseconds(Math.Max(50, parse.GetValue(scan))),
                UntilIdle = parse.GetValue(untilIdle),
                Queue = new QueueConsumerOptions { VisibilityTimeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(visibility))) },
            });
            using var host = builder.Build();
            var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("coral.serve");
            if (azurite is not null)
                log.LogInformation("Started a private Azurite (blob {BlobPort}, queue {QueuePort}); it stops with this process", azurite.BlobPort, azurite.QueuePort);
            // Startup errors are one red line before anything runs: storage settings, a half-configured introspection setting
            // (before the models load), a missing classifier. The generator loads in the host; without it, serve only scores.
            var storage = host.Services.GetRequiredService<PipelineStorage>();
            if (host.Services.GetRequiredService<ILongtailIntrospector>() is AzureOpenAiIntrospector ai)
                log.LogInformation("Longtail introspection on: deployment {Deployment} at {Host} ({Auth})", ai.Options.Deployment, ai.Options.Endpoint.Host,
                    ai.Options.ApiKey is null ? "Entra ID" : "API key");
            log.LogInformation("Classifier {Version} loaded", host.Services.GetRequiredService<IImageScorer>().ModelVersion);
            await storage.EnsureCreatedAsync(ct);
            if (parse.GetValue(upload) is > 0 and var n) await FieldUploads.UploadFashionMnistAsync(storage, n, log, ct);
            if (parse.GetValue(uploadDir) is { } dir) await FieldUploads.UploadFolderAsync(storage, dir, log, ct);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var started = DateTimeOffset.UtcNow;
            var service = host.Services.GetRequiredService<LocalHostService>();
            await host.RunAsync(ct); // disposes the host's services when it returns
            await service.ThrowIfFailedAsync();
            var summary = await PipelineSummary.ReadAsync(storage, CancellationToken.None, started);
            Console.WriteLine($"incoming {summary.Incoming}: scored {summary.Scored}, flagged {summary.Flagged}, rejected {summary.Rejected}, " +
                $"failed {summary.Failed}; converted {summary.Converted}, out of domain {summary.OutOfDomain}; batches {summary.Batches} ({summary.SyntheticImages} images, {summary.ConsistentImages} consistent); " +
                $"scoring {summary.ScoringSpan.TotalSeconds:F1} s, generation {summary.GenerationSpan.TotalSeconds:F1} s, total {clock.Elapsed.TotalSeconds:F1} s; " +
                $"upload→score p50 {summary.UploadToScoreP50.TotalSeconds:F2} s, p95 {summary.UploadToScoreP95.TotalSeconds:F2} s (from each blob's upload, or from serve's start if it was waiting)");
            if (service.Liveness is { } alive) Console.WriteLine("liveness: " + alive.Describe(DateTimeOffset.UtcNow));
            string? exportDir = parse.GetValue(export) ?? (azurite is not null ? "runs/serve" : null);
            if (exportDir is not null)
            {
                // The private Azurite is in-memory: keep what reviewers need before it goes away.
                Directory.CreateDirectory(exportDir);
                await foreach (var b in storage.Manifests.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, null, CancellationToken.None))
                {
                    string target = Path.Combine(exportDir, b.Name);
                    string tmp = target + ".tmp";
                    await storage.Manifests.GetBlobClient(b.Name).DownloadToAsync(tmp, CancellationToken.None);
                    File.Move(tmp, target, overwrite: true);
                }
                Console.WriteLine($"review pages and manifests: {Path.GetFullPath(exportDir)}");
            }
            else
            {
                foreach (var page in summary.ReviewPages.Take(5)) Console.WriteLine("review page: " + page);
                if (summary.ReviewPages.Count > 5) Console.WriteLine($"... and {summary.ReviewPages.Count - 5} more (coral review list)");
            }
            return 0;
        }));
        return command;
    }
}
