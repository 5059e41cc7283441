using System.CommandLine;
using System.Globalization;
using Coral.Data;
using Coral.Imaging;
using Coral.LocalHost.Bench;
using Coral.LocalHost.Serving;
using Coral.Ml.Common;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Models;
using Coral.Pipeline.Models.Diffusion;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral bench outage`: real storage outages under the real local host with the shipped models. For each length,
/// Azurite (data on disk) is stopped under the running host and restarted on the same ports; the audit after the host
/// caught up must find every input recorded once, every job done or in poison with a reason, and the host running.
/// </summary>
public static class BenchOutageCommand
{
    public static Command Create()
    {
        var seconds = new Option<string>("--seconds") { Description = "outage lengths in seconds, comma-separated", DefaultValueFactory = _ => "5,60,300" };
        var inputs = new Option<int>("--inputs") { Description = "real Fashion-MNIST test images per drill (half before, half after the outage)", DefaultValueFactory = _ => 40 };
        var images = new Option<int>("--images-per-job") { Description = "synthetic images per flagged input", DefaultValueFactory = _ => 2 };
        var threshold = new Option<double?>("--threshold") { Description = "flag threshold (default: the classifier's calibrated one, which flags about 5 %; lower it so jobs cross the outage)" };
        var catchUp = new Option<int>("--catch-up-minutes") { Description = "how long the host may take to finish every job after storage returns (real LTG on a CPU is slow)", DefaultValueFactory = _ => 15 };
        var output = new Option<string>("--out") { Description = "JSON report", DefaultValueFactory = _ => "docs/results/outage.json" };
        var cmd = new Command("outage", "Stop and restart storage under the running host (5 s, 60 s, 5 min by default) and audit that nothing was lost or duplicated.")
        {
            seconds, inputs, images, threshold, catchUp, output,
        };
        cmd.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var lengths = parse.GetValue(seconds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= 3600 ? v
                    : throw new ArgumentException($"--seconds: '{t}' is not a number of seconds in (0, 3600]")).ToArray();
            int n = parse.GetValue(inputs);
            if (n is < 2 or > 10_000) throw new ArgumentException($"--inputs: must be in 2..10000, got {n}");
            string outPath = parse.GetValue(output)!;
            var test = FashionMnist.Load(FashionMnist.Split.Test);
            byte[] Image(int i) => ImageCodec.EncodePng(test.Tensor(i % test.Count));
            var results = new List<OutageResult>();
            foreach (var s in lengths)
            {
                AnsiConsole.MarkupLine($"[bold]outage of {s:F0} s[/] with {n} inputs");
                var r = await OutageDrill.RunAsync(TimeSpan.FromSeconds(s), n, Image, cs => Host(cs, parse.GetValue(images), parse.GetValue(threshold)),
                    catchUp: TimeSpan.FromMinutes(Math.Max(1, parse.GetValue(catchUp))), line => AnsiConsole.MarkupLine("  " + Markup.Escape(line)), ct);
                results.Add(r);
                AnsiConsole.MarkupLine($"  {(r.Ok ? "[green]ok[/]" : "[red]problems[/]")}: {r.Records}/{r.Uploaded} recorded, {r.Batches} batches, {r.Poisoned} poisoned, " +
                    $"caught up {r.RecoverySeconds:F0} s after storage returned; {r.ScanFailures} failed scans, {r.QueuePollFailures} failed queue polls");
                foreach (var p in r.Problems.Take(10)) AnsiConsole.MarkupLine($"  [red]{Markup.Escape(p.Kind)}[/] {Markup.Escape(p.Subject)}: {Markup.Escape(p.Detail)}");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
            AtomicFile.WriteAllText(outPath, Json.Serialize(new
            {
                command = "coral " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), finishedUtc = DateTime.UtcNow.ToString("O"),
                load = MachineLoad.Line(),
                verdict = new { allOk = results.All(r => r.Ok), drills = results.Count },
                drills = results,
            }));
            AnsiConsole.MarkupLine($"results → {Markup.Escape(outPath)}");
            return results.All(r => r.Ok) ? 0 : 1;
        }));
        return cmd;
    }

    /// <summary>The real local host (shipped scorer and generator) over the drill's storage, built as `coral serve` builds it.</summary>
    private static (LocalPipelineHost, IDisposable?) Host(string connection, int imagesPerJob, double? threshold)
    {
        var builder = LocalHostBuilder.Create(new Dictionary<string, string?>
        {
            [Settings.StorageConnection] = connection,
            [Settings.ImagesPerJob] = imagesPerJob.ToString(CultureInfo.InvariantCulture),
            [Settings.ScoreThreshold] = ServeCommand.Invariant(threshold),
        });
        builder.Logging.ClearProviders();
        builder.Services.AddCoralScorer(builder.Configuration).AddCoralGenerator(builder.Configuration);
        var services = builder.Services.BuildServiceProvider();
        var host = new LocalPipelineHost(services.GetRequiredService<PipelineStorage>(), services.GetRequiredService<ScoreHandler>(),
            services.GetRequiredService<GenerateHandler>(), new LocalHostOptions { ScanInterval = TimeSpan.FromMilliseconds(200) },
            services.GetRequiredService<ILoggerFactory>());
        return (host, services);
    }
}
