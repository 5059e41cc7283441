using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Coral.Ml.Common;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Models.Diffusion;
using Coral.LocalHost.Serving;
using Coral.LocalHost.Audit;
using Coral.LocalHost.Faults;
using Coral.LocalHost.Azurite;

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
        var parallelism = new Option<int>("--scoring-parallelism") { Description = "blobs scored at once (as coral serve)", DefaultValueFactory = _ => 2 };
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
            string loadAtStart = LoadAverage();
            // Inputs first, models next, storage last: none of that is in the measured latency.
            var test = Coral.Data.FashionMnist.Load(Coral.Data.FashionMnist.Split.Test);
            if (n > test.Count) throw new ArgumentException($"--count {n} is more than the {test.Count} Fashion-MNIST test images");
            var good = Enumerable.Range(0, n).Select(i => (Name: $"fashion-mnist/test-{i:D5}.png", Bytes: Coral.Imaging.ImageCodec.EncodePng(test.Tensor(i)))).ToList();
            IReadOnlyList<HostileBlob> hostile = parse.GetValue(noHostile) ? [] : HostileBlobs.Create(Defaults.MaxInputBytes);

            string? cs = ServeCommand.Connection(parse, connection);
            await using var azurite = cs is null ? await AzuriteServer.StartAsync(ct: ct) : null;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
            string logPath = Path.ChangeExtension(outPath, ".log");
            using var logs = new FileLoggerProvider(logPath);
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
            await storage.EnsureCreatedAsync(ct);
            AnsiConsole.MarkupLine($"classifier [bold]{Markup.Escape(scorer.ModelVersion)}[/], generator [bold]{Markup.Escape(generatorText)}[/], " +
                $"storage {(azurite is null ? "given connection, prefix " + Markup.Escape(storage.Prefix) : $"private Azurite (blob {azurite.BlobPort})")}, load {Markup.Escape(loadAtStart)}");

            using var hostStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var service = host.Services.GetRequiredService<LocalHostService>();
            var hostTask = Task.Run(async () =>
            {
                await host.RunAsync(hostStop.Token); // disposes the host's services when it returns
                await service.ThrowIfFailedAsync();
            }, CancellationToken.None);
            int total = good.Count + hostile.Count;
            var clock = Stopwatch.StartNew();
            TimeSpan uploadTime = TimeSpan.Zero, allScored = TimeSpan.Zero;
            bool idle = false;
            string? hostFailure = null;
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(Math.Max(1, parse.GetValue(timeout))));

            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var up = ctx.AddTask("upload", maxValue: total);
                    var scored = ctx.AddTask("score", maxValue: total);
                    var batches = ctx.AddTask(ltg ? "generate" : "generate (off)", maxValue: 1);
                    // All at once: shuffled good and hostile blobs, many uploads in flight, while the host already scans.
                    var payloads = good.Select(g => (g.Name, g.Bytes)).Concat(hostile.Select(h => (h.Name, Bytes: h.Content)))
                        .OrderBy(_ => Random.Shared.Next()).ToList();
                    int uploaded = 0;
                    await Parallel.ForEachAsync(payloads, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (p, t) =>
                    {
                        await storage.Incoming.GetBlobClient(p.Name).UploadAsync(BinaryData.FromBytes(p.Bytes), overwrite: false, t);
                        up.Value = Interlocked.Increment(ref uploaded);
                    });
                    uploadTime = clock.Elapsed;
                    int stableIdle = 0, stalled = 0, lastRecords = -1;
                    while (!deadline.IsCancellationRequested && !ct.IsCancellationRequested)
                    {
                        if (hostTask.IsCompleted) { hostFailure = hostTask.Exception?.GetBaseException().ToString() ?? "the host stopped on its own"; break; }
                        int records = await CountAsync(storage.Scores, null, ct);
                        scored.Value = records;
                        if (records >= total && allScored == TimeSpan.Zero) allScored = clock.Elapsed;
                        int queued = (await storage.Jobs.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount;
                        if (ltg)
                        {
                            int done = await CountAsync(storage.Manifests, null, ct, ".json");
                            batches.MaxValue = Math.Max(1, done + queued);
                            batches.Value = done;
                        }
                        // Idle as LocalHost defines it, seen twice in a row: all scored, and no job waiting or in flight.
                        stableIdle = records >= total && (!ltg || queued == 0) ? stableIdle + 1 : 0;
                        if (stableIdle >= 2) { idle = true; break; }
                        // No progress for 30 s with nothing queued: some input will never get a record; stop and let the audit say which.
                        stalled = records == lastRecords && (!ltg || queued == 0) ? stalled + 1 : 0;
                        lastRecords = records;
                        if (stalled >= 30) break;
                        try { await Task.Delay(1000, deadline.Token); } catch (OperationCanceledException) { }
                    }
                    scored.Value = scored.MaxValue;
                    batches.Value = batches.MaxValue;
                });
            var elapsed = clock.Elapsed;
            hostStop.Cancel();
            try { await hostTask; }
            catch (OperationCanceledException) { }
            catch (Exception e) { hostFailure ??= e.ToString(); }
            ct.ThrowIfCancellationRequested();

            AnsiConsole.MarkupLine("auditing storage ...");
            var audit = await PipelineAudit.ReadAsync(storage, generatorRan: ltg, CancellationToken.None);
            var hostileRows = audit.CheckHostile(storage.Incoming, hostile);
            var goodRecords = audit.Records.Where(r => r.Source.Name.StartsWith("fashion-mnist/", StringComparison.Ordinal)).ToList();
            var problems = audit.Problems.ToList();
            if (goodRecords.Count != good.Count) problems.Add(new("lost", "fashion-mnist/", $"{goodRecords.Count} records for {good.Count} images"));
            foreach (var r in goodRecords.Where(r => r.Outcome is not (ScoreOutcome.Scored or ScoreOutcome.Flagged)))
                problems.Add(new("good-input-refused", r.Source.Name, $"{r.Outcome}: {r.Reason}"));
            foreach (var h in hostileRows.Where(h => !h.Ok))
                problems.Add(new("hostile-unexpected", h.Name, $"{h.Records} records, {h.Outcome} {h.ErrorType}: {h.Reason} (expected {h.ExpectedError})"));
            if (audit.Incoming != total) problems.Add(new("upload-mismatch", storage.Incoming.Name, $"{audit.Incoming} blobs listed, {total} uploaded (names aliased?)"));
            if (!idle) problems.Add(new("not-idle", "host", deadline.IsCancellationRequested ? "timed out before everything was scored and generated"
                : "stopped making progress before every input had a record"));
            if (hostFailure is not null) problems.Add(new("host-stopped", "host", hostFailure));
            if (audit.Poison.Count > 0) problems.Add(new("poisoned", storage.JobsPoison.Name, $"{audit.Poison.Count} jobs given up on"));

            var latencies = audit.UploadToScore();
            var goodLatencies = goodRecords.Where(r => audit.UploadedAt.ContainsKey(r.JobId)).Select(r => r.ScoredAt - audit.UploadedAt[r.JobId]).Order().ToList();
            var firstUpload = audit.UploadedAt.Values.DefaultIfEmpty().Min();
            var lastScore = audit.Records.Select(r => r.ScoredAt).DefaultIfEmpty().Max();
            double span = Math.Max(1e-3, (lastScore - firstUpload).TotalSeconds);
            string loadAtEnd = LoadAverage();

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
                $"max {Percentile(latencies, 1.0):F2} s ({latencies.Count} inputs); throughput {audit.Records.Count / span:F1} inputs/s " +
                $"(first upload → last score {span:F1} s); upload {uploadTime.TotalSeconds:F1} s, all scored {allScored.TotalSeconds:F1} s, idle {elapsed.TotalSeconds:F1} s");
            AnsiConsole.MarkupLine($"generator: {Markup.Escape(generatorText)}; load {Markup.Escape(loadAtStart)} → {Markup.Escape(loadAtEnd)}; " +
                $"host log: {Markup.Escape(logPath)} ({logs.Warnings} warnings, {logs.Errors} errors)");

            var report = new
            {
                command = "coral " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), utc = DateTime.UtcNow.ToString("O"), gitCommit = GitInfo.Commit(),
                machine = new { cores = Environment.ProcessorCount, loadAverageAtStart = loadAtStart, loadAverageAtEnd = loadAtEnd, torchThreads = Environment.GetEnvironmentVariable("CORAL_TORCH_THREADS") },
                classifier = scorer.ModelVersion, generator = generatorText, imagesPerJob = perJob, threshold = handler.Threshold, scoringParallelism = par,
                inputs = new { good = good.Count, hostile = hostile.Count, total },
                counts = new { audit.Incoming, records = audit.Records.Count, audit.Scored, audit.Flagged, audit.Rejected, audit.Failed, audit.Manifests,
                    audit.CompleteBatches, audit.SyntheticImages, audit.QueueMessages, poison = audit.Poison.Count, stagingLeftovers = audit.StagingLeftovers.Count },
                latencySeconds = new
                {
                    p50 = Percentile(latencies, 0.50), p95 = Percentile(latencies, 0.95), max = Percentile(latencies, 1.0),
                    goodP50 = Percentile(goodLatencies, 0.50), goodP95 = Percentile(goodLatencies, 0.95),
                },
                throughputInputsPerSecond = audit.Records.Count / span,
                seconds = new { upload = uploadTime.TotalSeconds, allScored = allScored.TotalSeconds, idle = elapsed.TotalSeconds, firstUploadToLastScore = span },
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

    private static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "n/a"; }
    }

    private static async Task<int> CountAsync(Azure.Storage.Blobs.BlobContainerClient c, string? prefix, CancellationToken ct, string? suffix = null)
    {
        int k = 0;
        await foreach (var b in c.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, ct))
            if (suffix is null || b.Name.EndsWith(suffix, StringComparison.Ordinal)) k++;
        return k;
    }

    /// <summary>The host's log lines go to a file (they would tear the progress display); warnings and errors are counted.</summary>
    private sealed class FileLoggerProvider(string path) : ILoggerProvider
    {
        private readonly StreamWriter _writer = new(path, append: false) { AutoFlush = false };
        private readonly Lock _gate = new();
        private int _warnings, _errors;

        public int Warnings => _warnings;
        public int Errors => _errors;

        public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

        public void Dispose()
        {
            lock (_gate) _writer.Dispose();
        }

        private void Write(LogLevel level, string category, string message, Exception? e)
        {
            if (level == LogLevel.Warning) Interlocked.Increment(ref _warnings);
            if (level >= LogLevel.Error) Interlocked.Increment(ref _errors);
            lock (_gate) _writer.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {level,-11} {category}: {message}{(e is null ? "" : " | " + e.GetType().Name + ": " + e.Message)}");
        }

        private sealed class FileLogger(FileLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel)) owner.Write(logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}
