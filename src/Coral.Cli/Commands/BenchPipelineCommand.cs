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
/// `coral bench pipeline`: load and faults, and throughput against the storage roof. For every --count, on its own
/// private Azurite (or fresh name prefixes of a given account): measures the storage roof (GET + create-only PUT
/// pairs/s, <see cref="StorageRoof"/>), then runs the real local host with the shipped models over N real
/// Fashion-MNIST test images plus the 50 hostile blobs (<see cref="HostileBlobs"/>) once per arrival: a backlog
/// (throughput, first to last record: the host warm, as the roof), a burst (p95 of a burst) and a steady rate (p95 at that rate). Each run is audited
/// (<see cref="PipelineAudit"/>): nothing lost, nothing duplicated, one error record with its reason per hostile
/// blob, no stuck message. Exit 1 if any check fails; the verdict against the targets is in the report.
/// </summary>
public static class BenchPipelineCommand
{
    public const int ChecksFailed = 1;
    private const string GoodPrefix = "fashion-mnist/";
    /// <summary>GET + PUT pairs of each roof measurement: the same for every --count, so the roof grows the account equally.</summary>
    private const int RoofPairs = 500;

    /// <summary>The targets of the "scoring at storage speed" issue, fixed before any run.</summary>
    public const double TargetFractionOfRoof = 0.60, TargetP95SteadySeconds = 1.0;

    private static readonly JsonSerializerOptions ReportJson = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Converters = { new JsonStringEnumConverter() },
    };

    public static Command Create()
    {
        var count = new Option<int[]>("--count")
        {
            Description = "real Fashion-MNIST test images per run; several values run one after another (--count 500 2000)",
            DefaultValueFactory = _ => [2000], AllowMultipleArgumentsPerToken = true,
        };
        var noHostile = new Option<bool>("--no-hostile") { Description = "leave out the 50 corrupt or hostile blobs" };
        var generator = new Option<string>("--generator")
        {
            Description = "ltg: the shipped Longtail Guidance generator makes every flagged input's batch; none: score only (jobs stay queued)",
            DefaultValueFactory = _ => "ltg",
        };
        generator.AcceptOnlyFromAmong("ltg", "none");
        var arrivals = new Option<string[]>("--arrival")
        {
            Description = "backlog (uploaded before the host starts: throughput), burst (all at once while it runs), steady (at --steady-rate)",
            DefaultValueFactory = _ => ["backlog", "burst", "steady"], AllowMultipleArgumentsPerToken = true,
        };
        arrivals.AcceptOnlyFromAmong("backlog", "burst", "steady");
        var repeat = new Option<int>("--repeat")
        {
            Description = "runs per --count, each on a fresh Azurite with its own roof; the report's numbers are the medians (the machine is noisy)",
            DefaultValueFactory = _ => 3,
        };
        var rate = new Option<double>("--steady-rate") { Description = "uploads per second of the steady arrival", DefaultValueFactory = _ => 50 };
        var images = new Option<int>("--images-per-job") { Description = "synthetic images per flagged input (LTG cost grows with it)", DefaultValueFactory = _ => 4 };
        var threshold = new Option<double?>("--threshold") { Description = "flag threshold (default: the classifier's calibrated one)" };
        var classifier = new Option<string>("--classifier") { Description = "classifier bundle folder or .ckpt", DefaultValueFactory = _ => Defaults.ClassifierPath };
        var diffusion = new Option<string>("--diffusion") { Description = "diffusion model folder", DefaultValueFactory = _ => Defaults.DiffusionPath };
        var parallelism = new Option<int>("--scoring-parallelism") { Description = "blobs downloaded and decoded at once (as coral serve)", DefaultValueFactory = _ => Defaults.ScorerConcurrency };
        var connection = ServeCommand.ConnectionOption();
        var timeout = new Option<int>("--timeout-minutes") { Description = "give up (and fail) a run after this long", DefaultValueFactory = _ => 30 };
        var output = new Option<string>("--out") { Description = "JSON report (the hosts' logs go to .log files next to it)", DefaultValueFactory = _ => "runs/bench-pipeline.json" };
        var cmd = new Command("pipeline", "Load, faults and throughput: N real images + hostile blobs through the local host, against the measured storage roof.")
        {
            count, noHostile, generator, arrivals, repeat, rate, images, threshold, classifier, diffusion, parallelism, connection, timeout, output,
        };
        cmd.SetAction((parse, ct) => CliErrors.RunAsync(() => RunAsync(parse, ct)));
        return cmd;

        async Task<int> RunAsync(ParseResult parse, CancellationToken ct)
        {
            int[] counts = parse.GetValue(count)!;
            int perJob = parse.GetValue(images), par = parse.GetValue(parallelism);
            double steadyRate = parse.GetValue(rate);
            foreach (int n in counts) if (n < 0) throw new ArgumentException($"--count {n} must be 0 or more");
            if (perJob is < 1 or > 256) throw new ArgumentException($"--images-per-job {perJob} must be in 1..256");
            if (par < 1) throw new ArgumentException($"--scoring-parallelism {par} must be at least 1");
            if (steadyRate <= 0) throw new ArgumentException($"--steady-rate {steadyRate} must be positive");
            int repeats = parse.GetValue(repeat);
            if (repeats < 1) throw new ArgumentException($"--repeat {repeats} must be at least 1");
            var arrivalKinds = parse.GetValue(arrivals)!.Distinct().Select(a => a switch
            {
                "backlog" => BenchArrival.Backlog, "burst" => BenchArrival.Burst, _ => BenchArrival.Steady(steadyRate),
            }).ToList();
            bool ltg = parse.GetValue(generator) == "ltg";
            string outPath = parse.GetValue(output)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
            string loadAtStart = MachineLoad.Averages();
            // Inputs first, models next, storage last: none of that is in the measured latency.
            var test = Coral.Data.FashionMnist.Load(Coral.Data.FashionMnist.Split.Test);
            if (counts.Max() > test.Count) throw new ArgumentException($"--count {counts.Max()} is more than the {test.Count} Fashion-MNIST test images");
            // The roof reads the same images in every run whatever --count is (at most RoofPairs, at least 100 for small runs).
            int roofPairs = Math.Clamp(counts.Max(), 100, RoofPairs);
            var allGood = Enumerable.Range(0, Math.Max(counts.Max(), roofPairs)).Select(i => new BenchInput($"{GoodPrefix}test-{i:D5}.png", Coral.Imaging.ImageCodec.EncodePng(test.Tensor(i)))).ToList();
            IReadOnlyList<HostileBlob> hostile = parse.GetValue(noHostile) ? [] : HostileBlobs.Create(Defaults.MaxInputBytes);
            string? cs = ServeCommand.Connection(parse, connection);

            string? classifierVersion = null, generatorText = null;
            double threshold0 = double.NaN;
            var runs = new List<object>();
            var summary = new List<RunSummary>();
            var latencyLines = new List<(string Label, IReadOnlyList<TimeSpan> Sorted)>();
            var allProblems = new List<AuditProblem>();
            // One run: a fresh Azurite, its roof, then each arrival.
            async Task<(RunSummary Row, object Report)> RunOnceAsync(int n, int rep)
            {
                var good = allGood.Take(n).ToList();
                int total = good.Count + hostile.Count;
                await using var azurite = cs is null ? await AzuriteServer.StartAsync(ct: ct) : null;
                string account = cs ?? azurite!.ConnectionString;
                string FreshPrefix(string what) => cs is null ? $"{what}-" : $"{what}{Guid.NewGuid():N}"[..13] + "-";

                // The roof: at the scanner's concurrency and at twice it, the better of the two.
                var roofImages = allGood.Take(roofPairs).ToList();
                var storageRoof = await StorageRoof.UploadAsync(PipelineStorage.FromConnectionString(account, FreshPrefix("roof")), roofImages,
                    RecordSample(roofImages[0]), ct);
                var roofs = new List<StorageRoofResult>();
                foreach (int c in new[] { par, 2 * par }) roofs.Add(await storageRoof.MeasureAsync(c, ct));
                var roof = roofs.MaxBy(r => r.PairsPerSecond)!;
                StorageRoofResult? roofAfter = null;
                AnsiConsole.MarkupLine($"[bold]{total} inputs, run {rep} of {repeats}[/]: storage roof {roof.PairsPerSecond:F0} GET + create-only PUT pairs/s " +
                    $"({string.Join(", ", roofs.Select(r => $"{r.PairsPerSecond:F0} at {r.Concurrency} in flight"))}), load {Markup.Escape(MachineLoad.Averages())}");

                var phases = new List<object>();
                var byArrival = new Dictionary<ArrivalKind, PipelineBenchResult>();
                foreach (var arrival in arrivalKinds)
                {
                    // Steady: good images only (the rate is about real inputs); the other arrivals carry the hostile blobs too.
                    var hostileHere = arrival.Kind == ArrivalKind.Steady ? [] : hostile;
                    string logPath = Path.ChangeExtension(outPath, $".{total}-{rep}-{arrival.Kind.ToString().ToLowerInvariant()}.log");
                    using var logs = new CountingFileLoggerProvider(logPath);
                    var builder = LocalHostBuilder.Create(new Dictionary<string, string?>
                    {
                        [Settings.StorageConnection] = account,
                        [ServeCommand.NamePrefixSetting] = FreshPrefix(arrival.Kind.ToString().ToLowerInvariant()),
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
                    classifierVersion = scorer.ModelVersion;
                    threshold0 = handler.Threshold;
                    generatorText ??= ltg
                        ? $"LTG ({host.Services.GetRequiredService<ILongtailBatchGenerator>().DiffusionModel}, {perJob} images per flagged input)"
                        : "none (score only; flagged jobs stay queued)";
                    string loadBefore = MachineLoad.Averages();

                    PipelineBenchResult result = null!;
                    await AnsiConsole.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                        .StartAsync(async ctx =>
                        {
                            int inputs = good.Count + hostileHere.Count;
                            var up = ctx.AddTask($"{arrival}: upload", maxValue: Math.Max(1, inputs));
                            var scored = ctx.AddTask($"{arrival}: score", maxValue: Math.Max(1, inputs));
                            var batches = ctx.AddTask(ltg ? $"{arrival}: generate" : $"{arrival}: generate (off)", maxValue: 1);
                            var progress = new Progress<PipelineBenchProgress>(p =>
                            {
                                up.Value = p.Uploaded;
                                scored.Value = p.Scored;
                                if (ltg) { batches.MaxValue = Math.Max(1, p.BatchesExpected); batches.Value = p.Batches; }
                            });
                            result = await PipelineBench.RunAsync(host, good, GoodPrefix, hostileHere, ltg, TimeSpan.FromMinutes(Math.Max(1, parse.GetValue(timeout))),
                                progress, ct, arrival);
                            up.Value = up.MaxValue;
                            scored.Value = scored.MaxValue;
                            batches.Value = batches.MaxValue;
                        });
                    var batcher = handler.Batcher;
                    byArrival[arrival.Kind] = result;
                    if (arrival.Kind == ArrivalKind.Backlog)
                    {
                        // The roof again, right after the backlog, at the concurrency that won before: the machine drifts
                        // within a minute, and the backlog's ratio is taken against the mean of the two.
                        roofAfter = await storageRoof.MeasureAsync(roof.Concurrency, ct);
                        AnsiConsole.MarkupLine($"storage roof after the backlog: {roofAfter.PairsPerSecond:F0} pairs/s at {roofAfter.Concurrency} in flight");
                    }
                    allProblems.AddRange(result.Problems.Select(p => p with { Subject = $"[{total} {arrival}] {p.Subject}" }));
                    PrintRun(result, $"{total} inputs, run {rep}, {arrival}", logPath, logs, batcher);
                    if (arrival.Kind != ArrivalKind.Backlog && rep == 1) latencyLines.Add(($"{total} inputs, {arrival}", result.GoodLatencies));
                    phases.Add(PhaseReport(result, arrival, logPath, logs, loadBefore, batcher));
                }

                var backlog = byArrival.GetValueOrDefault(ArrivalKind.Backlog);
                var burst = byArrival.GetValueOrDefault(ArrivalKind.Burst);
                var steady = byArrival.GetValueOrDefault(ArrivalKind.Steady);
                double roofValue = roofAfter is null ? roof.PairsPerSecond : (roof.PairsPerSecond + roofAfter.PairsPerSecond) / 2;
                var row = new RunSummary(total, roofValue, backlog?.DrainPerSecond, burst?.InputsPerSecond,
                    steady is null ? null : Percentile(steady.GoodLatencies, 0.50), steady is null ? null : Percentile(steady.GoodLatencies, 0.95),
                    burst is null ? null : Percentile(burst.Latencies, 0.50), burst is null ? null : Percentile(burst.Latencies, 0.95),
                    byArrival.Values.Sum(r => r.Lost), byArrival.Values.Sum(r => r.Duplicated));
                return (row, new
                {
                    run = rep, storageRoofBlobsPerSecond = roofValue, storageRoofBefore = roofs, storageRoofAfterBacklog = roofAfter,
                    blobsPerSecond = row.BlobsPerSecond, fractionOfRoof = row.BlobsPerSecond / roof.PairsPerSecond, burstBlobsPerSecond = row.BurstBlobsPerSecond,
                    p50SteadySeconds = row.P50Steady, p95SteadySeconds = row.P95Steady, p50BurstSeconds = row.P50Burst, p95BurstSeconds = row.P95Burst,
                    lost = row.Lost, duplicated = row.Duplicated, phases,
                });
            }

            // Interleaved (500, 2,000, 500, 2,000, …), not all runs of one size and then the next: the machine drifts over
            // minutes, and the sizes are compared with each other, so each size sees the same stretch of time.
            var distinctCounts = counts.Distinct().ToArray();
            var bySize = distinctCounts.ToDictionary(n => n, _ => new List<(RunSummary Row, object Report)>());
            for (int rep = 1; rep <= repeats; rep++)
                foreach (int n in distinctCounts) bySize[n].Add(await RunOnceAsync(n, rep));
            foreach (int n in distinctCounts)
            {
                var repeatRows = bySize[n].Select(r => r.Row).ToList();
                var repeatReports = bySize[n].Select(r => r.Report).ToList();
                int total = repeatRows[0].Inputs;
                // Medians over the repeats; the fraction of the roof is the median of each run's own ratio (same Azurite, same minute).
                var median = new RunSummary(total, Median(repeatRows.Select(r => (double?)r.RoofBlobsPerSecond))!.Value,
                    Median(repeatRows.Select(r => r.BlobsPerSecond)), Median(repeatRows.Select(r => r.BurstBlobsPerSecond)),
                    Median(repeatRows.Select(r => r.P50Steady)), Median(repeatRows.Select(r => r.P95Steady)),
                    Median(repeatRows.Select(r => r.P50Burst)), Median(repeatRows.Select(r => r.P95Burst)),
                    repeatRows.Sum(r => r.Lost), repeatRows.Sum(r => r.Duplicated))
                {
                    FractionOfRoof = Median(repeatRows.Select(r => r.BlobsPerSecond / r.RoofBlobsPerSecond)),
                };
                summary.Add(median);
                runs.Add(new
                {
                    inputs = total, goodImages = total - hostile.Count, hostileBlobs = hostile.Count, repeats, order = "interleaved",
                    storageRoofBlobsPerSecond = median.RoofBlobsPerSecond,
                    blobsPerSecond = median.BlobsPerSecond, fractionOfRoof = median.FractionOfRoof,
                    burstBlobsPerSecond = median.BurstBlobsPerSecond,
                    p50SteadySeconds = median.P50Steady, p95SteadySeconds = median.P95Steady, steadyRatePerSecond = steadyRate,
                    p50BurstSeconds = median.P50Burst, p95BurstSeconds = median.P95Burst,
                    lost = median.Lost, duplicated = median.Duplicated,
                    fractionOfRoofPerRun = repeatRows.Select(r => r.BlobsPerSecond / r.RoofBlobsPerSecond),
                    runs = repeatReports,
                });
            }

            var table = new Table().AddColumns("inputs", "storage roof (pairs/s)", "backlog blobs/s (warm)", "of roof", "burst blobs/s",
                $"steady {steadyRate:G3}/s p50 / p95 (s)", "burst p50 / p95 (s)", "lost", "duplicated");
            foreach (var r in summary)
                table.AddRow($"{r.Inputs}", $"{r.RoofBlobsPerSecond:F0}", Num(r.BlobsPerSecond, "F1"), r.FractionOfRoof is { } f ? $"{f:P0}" : "–",
                    Num(r.BurstBlobsPerSecond, "F1"), $"{Num(r.P50Steady, "F2")} / {Num(r.P95Steady, "F2")}", $"{Num(r.P50Burst, "F2")} / {Num(r.P95Burst, "F2")}",
                    $"{r.Lost}", $"{r.Duplicated}");
            AnsiConsole.Write(table);

            var verdict = Verdict(summary);
            string throughputPlot = Path.ChangeExtension(outPath, ".throughput.png"), latencyPlot = Path.ChangeExtension(outPath, ".latency.png");
            BenchPipelinePlots.Throughput([.. summary.Select(r => (r.Inputs, r.RoofBlobsPerSecond, r.BlobsPerSecond, r.BurstBlobsPerSecond))], TargetFractionOfRoof, throughputPlot);
            BenchPipelinePlots.Latency(latencyLines, TargetP95SteadySeconds, latencyPlot);
            string loadAtEnd = MachineLoad.Averages();
            var report = new
            {
                command = "coral " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), utc = DateTime.UtcNow.ToString("O"), gitCommit = GitInfo.Commit(),
                machine = new { cores = Environment.ProcessorCount, loadAverageAtStart = loadAtStart, loadAverageAtEnd = loadAtEnd },
                classifier = classifierVersion, generator = generatorText, imagesPerJob = perJob, threshold = threshold0, scoringParallelism = par,
                batching = new { maxBatch = Defaults.ScorerBatchSize, maxWaitMilliseconds = Defaults.ScorerBatchWaitMilliseconds },
                targets = new { fractionOfRoof = TargetFractionOfRoof, p95SteadySeconds = TargetP95SteadySeconds, steadyRatePerSecond = steadyRate,
                    throughputAtLargestNoLowerThanSmallest = true, lostAndDuplicated = 0 },
                verdict, plots = new[] { throughputPlot, latencyPlot }, runs, problems = allProblems, ok = allProblems.Count == 0,
            };
            AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(report, ReportJson));
            AnsiConsole.MarkupLine($"verdict: [bold]{verdict.Status}[/] ({Markup.Escape(string.Join("; ", verdict.Reasons))}); load {Markup.Escape(loadAtStart)} → {Markup.Escape(loadAtEnd)}");
            AnsiConsole.MarkupLine($"plots: {Markup.Escape(throughputPlot)}, {Markup.Escape(latencyPlot)}");

            if (allProblems.Count == 0)
            {
                AnsiConsole.MarkupLine($"[green]ok[/]: every input has exactly one record, every hostile blob its reason, every flagged input one complete batch " +
                    $"and one manifest, nothing stuck. Report: {Markup.Escape(outPath)}");
                return 0;
            }
            foreach (var p in allProblems.Take(30)) AnsiConsole.MarkupLine($"[red]{Markup.Escape(p.Kind)}[/] {Markup.Escape(p.Subject)}: {Markup.Escape(Shorten(p.Detail, 300))}");
            if (allProblems.Count > 30) AnsiConsole.MarkupLine($"... and {allProblems.Count - 30} more in {Markup.Escape(outPath)}");
            AnsiConsole.MarkupLine($"[red]{allProblems.Count} checks failed[/]. Report: {Markup.Escape(outPath)}");
            return ChecksFailed;
        }
    }

    /// <summary>One --count's numbers, as the summary table and the verdict read them.</summary>
    private sealed record RunSummary(int Inputs, double RoofBlobsPerSecond, double? BlobsPerSecond, double? BurstBlobsPerSecond,
        double? P50Steady, double? P95Steady, double? P50Burst, double? P95Burst, int Lost, int Duplicated)
    {
        public double? FractionOfRoof { get; init; } = BlobsPerSecond / RoofBlobsPerSecond;
    }

    private static double? Median(IEnumerable<double?> values)
    {
        var v = values.OfType<double>().Order().ToList();
        return v.Count == 0 ? null : v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }

    public sealed record BenchVerdict(string Status, IReadOnlyList<string> Reasons);

    private static BenchVerdict Verdict(IReadOnlyList<RunSummary> runs)
    {
        var missed = new List<string>();
        var met = new List<string>();
        foreach (var r in runs)
        {
            if (r.FractionOfRoof is { } f)
                (f >= TargetFractionOfRoof ? met : missed).Add($"{r.Inputs}: {f:P0} of the storage roof (target ≥ {TargetFractionOfRoof:P0})");
            if (r.P95Steady is { } p)
                (p <= TargetP95SteadySeconds ? met : missed).Add($"{r.Inputs}: steady p95 {p:F2} s (target ≤ {TargetP95SteadySeconds:F1} s)");
            ((r.Lost + r.Duplicated) == 0 ? met : missed).Add($"{r.Inputs}: {r.Lost} lost, {r.Duplicated} duplicated");
        }
        var sized = runs.Where(r => r.BlobsPerSecond is not null).OrderBy(r => r.Inputs).ToList();
        if (sized.Count >= 2)
        {
            var (small, large) = (sized[0], sized[^1]);
            (large.BlobsPerSecond >= small.BlobsPerSecond ? met : missed)
                .Add($"throughput at {large.Inputs} ({large.BlobsPerSecond:F0}/s) vs at {small.Inputs} ({small.BlobsPerSecond:F0}/s)");
        }
        bool complete = runs.All(r => r.BlobsPerSecond is not null && r.P95Steady is not null) && sized.Count >= 2;
        string status = missed.Count > 0 ? "missed" : complete ? "met" : "incomplete";
        return new BenchVerdict(status, missed.Count > 0 ? missed : met);
    }

    /// <summary>A score record of the size the scorer writes, for the roof's PUTs.</summary>
    private static byte[] RecordSample(BenchInput input)
    {
        var probabilities = Enumerable.Repeat(0.1f, 10).ToArray();
        var classes = Enumerable.Range(0, 10).Select(i => $"class-{i}").ToArray();
        var record = new ScoreRecord
        {
            JobId = JobIds.Derive(input.Name, "0x8DD0000000000000"), Outcome = ScoreOutcome.Scored,
            Source = new SourceBlob(Containers.Incoming, input.Name, "0x8DD0000000000000", new string('0', 64), input.Content.Length),
            ClassifierVersion = "classifier-0000000000000000", Threshold = 0.5,
            Score = new ImageScore(0, classes[0], probabilities, classes, "mutual-information", 0.01),
            ScoredAt = DateTimeOffset.UtcNow,
        };
        return PipelineJson.Serialize(record).ToArray();
    }

    private static void PrintRun(PipelineBenchResult result, string title, string logPath, CountingFileLoggerProvider logs, ScoringBatcher batcher)
    {
        var audit = result.Audit;
        var counts = new Table().Title(Markup.Escape(title)).AddColumns("inputs", "records", "scored", "flagged", "rejected", "failed", "batches (complete)", "images", "queue", "poison");
        counts.AddRow($"{audit.Incoming}", $"{audit.Records.Count}", $"{audit.Scored}", $"{audit.Flagged}", $"{audit.Rejected}", $"{audit.Failed}",
            $"{audit.Manifests} ({audit.CompleteBatches})", $"{audit.SyntheticImages}", $"{audit.QueueMessages}", $"{audit.Poison.Count}");
        AnsiConsole.Write(counts);
        if (result.Hostile.Count > 0 && result.Hostile.Any(h => !h.Ok))
        {
            var reasons = new Table().AddColumns("kind", "error type", "blobs", "as expected", "example reason");
            foreach (var g in result.Hostile.GroupBy(h => (h.Kind, h.ErrorType)).OrderBy(g => g.Key.Kind).ThenBy(g => g.Key.ErrorType))
                reasons.AddRow(g.Key.Kind, g.Key.ErrorType ?? "[red]none[/]", $"{g.Count()}", $"{g.Count(h => h.Ok)}/{g.Count()}",
                    Markup.Escape(Shorten(g.First().Reason ?? "(no record)", 90)));
            AnsiConsole.Write(reasons);
        }
        else if (result.Hostile.Count > 0) AnsiConsole.MarkupLine($"hostile blobs: all {result.Hostile.Count} recorded as expected");
        foreach (var p in audit.Poison) AnsiConsole.MarkupLine($"poison {Markup.Escape(p.MessageId)} (dequeued {p.DequeueCount}): {Markup.Escape(p.Reason)}");
        var latencies = result.Latencies;
        AnsiConsole.MarkupLine($"upload→score: p50 [bold]{Percentile(latencies, 0.50):F2} s[/], p95 [bold]{Percentile(latencies, 0.95):F2} s[/], " +
            $"max {Percentile(latencies, 1.0):F2} s ({latencies.Count} inputs); throughput [bold]{result.InputsPerSecond:F1} inputs/s[/] " +
            $"({(result.Arrival.Kind == ArrivalKind.Backlog ? "host start" : "first upload")} → last score {result.Span.TotalSeconds:F1} s), " +
            $"[bold]{result.DrainPerSecond:F1}/s[/] first → last score; " +
            $"forward passes {batcher.Batches} (mean batch {(batcher.Batches == 0 ? 0 : (double)batcher.Images / batcher.Batches):F1}); " +
            $"host log {Markup.Escape(logPath)} ({logs.Warnings} warnings, {logs.Errors} errors)");
    }

    private static object PhaseReport(PipelineBenchResult result, BenchArrival arrival, string logPath, CountingFileLoggerProvider logs, string loadBefore,
        ScoringBatcher batcher)
    {
        var audit = result.Audit;
        var latencies = result.Latencies;
        return new
        {
            arrival = arrival.ToString(), loadAverageBefore = loadBefore, loadAverageAfter = MachineLoad.Averages(),
            counts = new { audit.Incoming, records = audit.Records.Count, audit.Scored, audit.Flagged, audit.Rejected, audit.Failed, audit.Manifests,
                audit.CompleteBatches, audit.SyntheticImages, audit.QueueMessages, poison = audit.Poison.Count, stagingLeftovers = audit.StagingLeftovers.Count },
            latencySeconds = new
            {
                p50 = Percentile(latencies, 0.50), p95 = Percentile(latencies, 0.95), max = Percentile(latencies, 1.0),
                goodP50 = Percentile(result.GoodLatencies, 0.50), goodP95 = Percentile(result.GoodLatencies, 0.95),
            },
            throughputInputsPerSecond = result.InputsPerSecond, drainInputsPerSecond = result.DrainPerSecond,
            forwardPasses = batcher.Batches, meanBatch = batcher.Batches == 0 ? 0 : (double)batcher.Images / batcher.Batches,
            seconds = new { upload = result.Upload.TotalSeconds, allScored = result.AllScored.TotalSeconds, idle = result.Idle.TotalSeconds, span = result.Span.TotalSeconds },
            hostLog = new { path = logPath, logs.Warnings, logs.Errors },
            hostile = result.Hostile.Where(h => !h.Ok), poison = audit.Poison, problems = result.Problems, lost = result.Lost, duplicated = result.Duplicated,
        };
    }

    private static string Num(double? v, string format) => v is { } x ? x.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "–";

    private static double Percentile(IReadOnlyList<TimeSpan> sorted, double p) => PipelineAudit.Percentile(sorted, p).TotalSeconds;

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
