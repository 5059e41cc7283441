using System.CommandLine;
using System.Text.Json.Serialization;
using System.Text.Json;
using Coral.LocalHost.Audit;
using Coral.LocalHost.Azurite;
using Coral.LocalHost.Bench;
using Coral.LocalHost.Faults;
using Coral.LocalHost.Serving;
using Coral.Ml.Common;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Models.Diffusion;
using Coral.Pipeline.Models;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral bench pipeline`: load and faults. Drops N real Fashion-MNIST test images plus the 50 hostile blobs
/// (<see cref="HostileBlobs"/>) into incoming/ at once while the real local host runs with the shipped models,
/// waits until everything is scored and the job queue is empty, then audits storage (<see cref="PipelineAudit"/>):
/// nothing lost, nothing duplicated, one error record with its reason per hostile blob, no stuck message.
/// Reports upload→score latency (p50/p95/max) and throughput. Exit 1 if any check fails.
/// </summary>
public static class BenchPipelineCommand
{
    public const int ChecksFailed = 1;
    private const string GoodPrefix = "fashion-mnist/";

    private static readonly JsonSerializerOptions ReportJson = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Converters = { new JsonStringEnumConverter() },
    };

    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "real Fashion-MNIST test images to drop at once", DefaultValueFactory = _ => 2000 };
        var noHostile = new Option<bool>("--no-hostile") { Description = "leave out the 50 corrupt or hostile blobs" };
        var generator = new Option<string>("--generator")
        {
            Description = "ltg: the shipped Longtail Guidance generator makes every flagged input's batch; none: score only (jobs stay queued)",
            DefaultValueFactory = _ => "ltg",
        };
        generator.AcceptOnlyFromAmong("ltg", "none");
        var images = new Option<int>("--images-per-job") { Description = "synthetic images per flagged input (LTG cost grows with it)", DefaultValueFactory = _ => 4 };
        var threshold = new Option<double?>("--threshold") { Description = "flag threshold (default: the classifier's calibrated one)" };
        var classifier = new Option<string>("--classifier") { Description = "classifier bundle folder or .ckpt", DefaultValueFactory = _ => Defaults.ClassifierPath };
        var diffusion = new Option<string>("--diffusion") { Description = "diffusion model folder", DefaultValueFactory = _ => Defaults.DiffusionPath };
        var parallelism = new Option<int>("--scoring-parallelism") { Description = "blobs downloaded and decoded at once (as coral serve)", DefaultValueFactory = _ => Defaults.ScorerConcurrency };
        var connection = ServeCommand.ConnectionOption();
        var timeout = new Option<int>("--timeout-minutes") { Description = "give up (and fail) after this long", DefaultValueFactory = _ => 30 };
        var output = new Option<string>("--out") { Description = "JSON report (a .log with the host's log lines is written next to it)", DefaultValueFactory = _ => "runs/bench-pipeline.json" };
        var cmd = new Command("pipeline", "Load and faults: drop N real images + hostile blobs at once through the local host; audit, latency, throughput.")
        {
            count, noHostile, generator, images, threshold, classifier, diffusion, parallelism, connection, timeout, output,
        };
        cmd.SetAction((parse, ct) => CliErrors.RunAsync(() => RunAsync(parse, ct)));
        return cmd;

        async Task<int> RunAsync(ParseResult parse, CancellationToken ct)
        {
            int n = parse.GetValue(count), perJob = parse.GetValue(images), par = parse.GetValue(parallelism);
            if (n < 0) throw new ArgumentException($"--count {n} must be 0 or more");
            if (perJob is < 1 or > 256) throw new ArgumentException($"--images-per-job {perJob} must be in 1..256");
            if (par < 1) throw new ArgumentException($"--scoring-parallelism {par} must be at least 1");
            bool ltg = parse.GetValue(generator) == "ltg";
            string outPath = parse.GetValue(output)!;
            string loadAtStart = MachineLoad.Averages();
            // Inputs first, models next, storage last: none of that is in the measured latency.
            var test = Coral.Data.FashionMnist.Load(Coral.Data.FashionMnist.Split.Test);
            if (n > test.Count) throw new ArgumentException($"--count {n} is more than the {test.Count} Fashion-MNIST test images");
            var good = Enumerable.Range(0, n).Select(i => new BenchInput($"{GoodPrefix}test-{i:D5}.png", Coral.Imaging.ImageCodec.EncodePng(test.Tensor(i)))).ToList();
            IReadOnlyList<HostileBlob> hostile = parse.GetValue(noHostile) ? [] : HostileBlobs.Create(Defaults.MaxInputBytes);

            string? cs = ServeCommand.Connection(parse, connection);
            await using var azurite = cs is null ? await AzuriteServer.StartAsync(ct: ct) : null;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
            string logPath = Path.ChangeExtension(outPath, ".log");
            using var logs = new CountingFileLoggerProvider(logPath);
            // The same composition as `coral serve`. A private Azurite is empty; a given account gets a fresh name prefix so earlier runs do not count.
            var builder = LocalHostBuilder.Create(new Dictionary<string, string?>
            {
                [Settings.StorageConnection] = cs ?? azurite!.ConnectionString,
                [ServeCommand.NamePrefixSetting] = cs is null ? "" : $"bench{Guid.NewGuid():N}"[..13] + "-",
                [Settings.ClassifierPath] = parse.GetValue(classifier),
                [Settings.DiffusionPath] = parse.GetValue(diffusion),
                [Settings.ScoreThreshold] = ServeCommand.Invariant(parse.GetValue(threshold)),
                [Settings.ImagesPerJob] = ServeCommand.Invariant(perJob),
            });
            builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Information).AddProvider(logs);
            builder.Services.AddCoralScorer(builder.Configuration);
            if (ltg) builder.Services.AddCoralGenerator(builder.Configuration);
            builder.Services.AddCoralLocalHost(new LocalHostOptions { ScoringParallelism = par });
            using var host = builder.Build();
            var scorer = host.Services.GetRequiredService<IImageScorer>();
            var handler = host.Services.GetRequiredService<ScoreHandler>();
            string generatorText = ltg
                ? $"LTG ({host.Services.GetRequiredService<ILongtailBatchGenerator>().DiffusionModel}, {perJob} images per flagged input)"
                : "none (score only; flagged jobs stay queued)";
            var storage = host.Services.GetRequiredService<PipelineStorage>();
            AnsiConsole.MarkupLine($"classifier [bold]{Markup.Escape(scorer.ModelVersion)}[/], generator [bold]{Markup.Escape(generatorText)}[/], " +
                $"storage {(azurite is null ? "given connection, prefix " + Markup.Escape(storage.Prefix) : $"private Azurite (blob {azurite.BlobPort})")}, load {Markup.Escape(loadAtStart)}");

            PipelineBenchResult result = null!;
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var up = ctx.AddTask("upload", maxValue: good.Count + hostile.Count);
                    var scored = ctx.AddTask("score", maxValue: good.Count + hostile.Count);
                    var batches = ctx.AddTask(ltg ? "generate" : "generate (off)", maxValue: 1);
                    var progress = new Progress<PipelineBenchProgress>(p =>
                    {
                        up.Value = p.Uploaded;
                        scored.Value = p.Scored;
                        if (ltg) { batches.MaxValue = Math.Max(1, p.BatchesExpected); batches.Value = p.Batches; }
                    });
                    result = await PipelineBench.RunAsync(host, good, GoodPrefix, hostile, ltg, TimeSpan.FromMinutes(Math.Max(1, parse.GetValue(timeout))), progress, ct);
                    scored.Value = scored.MaxValue;
                    batches.Value = batches.MaxValue;
                });
            var audit = result.Audit;
            var hostileRows = result.Hostile;
            var problems = result.Problems;
            var latencies = result.Latencies;
            double span = result.Span.TotalSeconds;
            string loadAtEnd = MachineLoad.Averages();

            var counts = new Table().AddColumns("inputs", "records", "scored", "flagged", "rejected", "failed", "batches (complete)", "images", "queue", "poison");
            counts.AddRow($"{audit.Incoming}", $"{audit.Records.Count}", $"{audit.Scored}", $"{audit.Flagged}", $"{audit.Rejected}", $"{audit.Failed}",
                $"{audit.Manifests} ({audit.CompleteBatches})", $"{audit.SyntheticImages}", $"{audit.QueueMessages}", $"{audit.Poison.Count}");
            AnsiConsole.Write(counts);
            if (hostileRows.Count > 0)
            {
                var reasons = new Table().AddColumns("kind", "error type", "blobs", "as expected", "example reason");
                foreach (var g in hostileRows.GroupBy(h => (h.Kind, h.ErrorType)).OrderBy(g => g.Key.Kind).ThenBy(g => g.Key.ErrorType))
                    reasons.AddRow(g.Key.Kind, g.Key.ErrorType ?? "[red]none[/]", $"{g.Count()}", $"{g.Count(h => h.Ok)}/{g.Count()}",
                        Markup.Escape(Shorten(g.First().Reason ?? "(no record)", 90)));
                AnsiConsole.Write(reasons);
            }
            foreach (var p in audit.Poison) AnsiConsole.MarkupLine($"poison {Markup.Escape(p.MessageId)} (dequeued {p.DequeueCount}): {Markup.Escape(p.Reason)}");
            AnsiConsole.MarkupLine($"upload→score: p50 [bold]{Percentile(latencies, 0.50):F2} s[/], p95 [bold]{Percentile(latencies, 0.95):F2} s[/], " +
                $"max {Percentile(latencies, 1.0):F2} s ({latencies.Count} inputs); throughput {result.InputsPerSecond:F1} inputs/s " +
                $"(first upload → last score {span:F1} s); upload {result.Upload.TotalSeconds:F1} s, all scored {result.AllScored.TotalSeconds:F1} s, idle {result.Idle.TotalSeconds:F1} s");
            AnsiConsole.MarkupLine($"generator: {Markup.Escape(generatorText)}; load {Markup.Escape(loadAtStart)} → {Markup.Escape(loadAtEnd)}; " +
                $"host log: {Markup.Escape(logPath)} ({logs.Warnings} warnings, {logs.Errors} errors)");

            var report = new
            {
                command = "coral " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), utc = DateTime.UtcNow.ToString("O"), gitCommit = GitInfo.Commit(),
                machine = new { cores = Environment.ProcessorCount, loadAverageAtStart = loadAtStart, loadAverageAtEnd = loadAtEnd, torchThreads = Environment.GetEnvironmentVariable("CORAL_TORCH_THREADS") },
                classifier = scorer.ModelVersion, generator = generatorText, imagesPerJob = perJob, threshold = handler.Threshold, scoringParallelism = par,
                inputs = new { good = good.Count, hostile = hostile.Count, total = good.Count + hostile.Count },
                counts = new { audit.Incoming, records = audit.Records.Count, audit.Scored, audit.Flagged, audit.Rejected, audit.Failed, audit.Manifests,
                    audit.CompleteBatches, audit.SyntheticImages, audit.QueueMessages, poison = audit.Poison.Count, stagingLeftovers = audit.StagingLeftovers.Count },
                latencySeconds = new
                {
                    p50 = Percentile(latencies, 0.50), p95 = Percentile(latencies, 0.95), max = Percentile(latencies, 1.0),
                    goodP50 = Percentile(result.GoodLatencies, 0.50), goodP95 = Percentile(result.GoodLatencies, 0.95),
                },
                throughputInputsPerSecond = result.InputsPerSecond,
                seconds = new { upload = result.Upload.TotalSeconds, allScored = result.AllScored.TotalSeconds, idle = result.Idle.TotalSeconds, firstUploadToLastScore = span },
                hostLog = new { path = logPath, logs.Warnings, logs.Errors },
                hostile = hostileRows, poison = audit.Poison, problems, ok = problems.Count == 0,
            };
            AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(report, ReportJson));

            if (problems.Count == 0)
            {
                AnsiConsole.MarkupLine($"[green]ok[/]: every input has exactly one record, every hostile blob its reason, every flagged input one complete batch " +
                    $"and one manifest, nothing stuck. Report: {Markup.Escape(outPath)}");
                return 0;
            }
            foreach (var p in problems.Take(30)) AnsiConsole.MarkupLine($"[red]{Markup.Escape(p.Kind)}[/] {Markup.Escape(p.Subject)}: {Markup.Escape(Shorten(p.Detail, 300))}");
            if (problems.Count > 30) AnsiConsole.MarkupLine($"... and {problems.Count - 30} more in {Markup.Escape(outPath)}");
            AnsiConsole.MarkupLine($"[red]{problems.Count} checks failed[/]. Report: {Markup.Escape(outPath)}");
            return ChecksFailed;
        }
    }

    private static double Percentile(IReadOnlyList<TimeSpan> sorted, double p) => PipelineAudit.Percentile(sorted, p).TotalSeconds;

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

}
