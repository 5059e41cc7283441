using System.CommandLine;
using Coral.Data;
using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Evaluation;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral bench score`: scorer images/s at batch 1/16/256, matmul roof, achieved fraction, RSS after 2k vs 20k images.</summary>
public static class BenchScoreCommand
{
    public static Command Create()
    {
        var model = ClassifierCliOptions.Model();
        var data = new DataCliOptions();   // the test images of --data are the input
        var batches = new Option<int[]>("--batch") { Description = "batch sizes", DefaultValueFactory = _ => [1, 16, 256], AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "JSON report", DefaultValueFactory = _ => "docs/results/classifier-bench.json" };
        var cmd = new Command("score", "Benchmark the default scorer (images/s, fraction of the matmul roof, resident memory).") { model, batches, output };
        data.AddTo(cmd);
        cmd.SetAction(parse => CliErrors.RunAsync(() => Task.FromResult(Run(parse))));
        return cmd;

        int Run(ParseResult parse)
        {
            string modelPath = parse.GetValue(model)!;
            using var bundle = ClassifierBundle.Load(modelPath);
            var test = DataSource.Load(data.Read(parse, bundle.Card.Seed)).Test;
            var images = Enumerable.Range(0, Math.Min(5120, test.Count))
                .Select(test.Tensor).ToArray();
            var report = ScoreBenchmark.Run(bundle, images, modelPath, parse.GetValue(batches)!, line => AnsiConsole.MarkupLine(Markup.Escape(line))) with
            {
                GitCommit = GitInfo.Commit(), Command = ClassifierCliOptions.CommandLine(),
            };
            AtomicFile.WriteAllText(parse.GetValue(output)!, Json.Serialize(report));
            var table = new Table().AddColumns("runtime", "threads", "mode", "batch", "images/s", "MFLOP/image", "GFLOP/s", "of matmul roof");
            foreach (var r in report.Rows)
                table.AddRow(r.Runtime, r.Threads.ToString(), Markup.Escape(r.Mode), r.BatchSize.ToString(),
                    $"{r.ImagesPerSecond:F0}", $"{r.MflopPerImage:F2}", $"{r.AchievedGflops:F2}", $"{r.FractionOfMatmul:P1}");
            AnsiConsole.Write(table);
            string Mark(bool ok) => ok ? "[green]met[/]" : "[red]missed[/]";
            AnsiConsole.MarkupLine($"matmul roof {report.MatmulGflops:F1} GFLOP/s ({report.TorchThreads} torch threads, load {Markup.Escape(report.LoadAverageAtStart)})");
            AnsiConsole.MarkupLine($"≥ 2000 images/s at batch 256: {Mark(report.MeetsImagesPerSecond)}; ≥ 30% of roof: {Mark(report.MeetsFractionOfMatmul)}; " +
                $"RSS {report.RssAfter2kBytes / 1048576.0:F1} → {report.RssAfter20kBytes / 1048576.0:F1} MiB ({report.RssGrowth:+0.0%;-0.0%}, peak {report.RssPeakGrowth:+0.0%;-0.0%}): {Mark(report.MeetsRss)}");
            if (report.OnnxOverTorchOneThread is double sp)
                AnsiConsole.MarkupLine($"ONNX Runtime / TorchSharp at one thread: {sp:F2}× (target ≥ 4: {Mark(report.MeetsOnnxSpeedup == true)}); " +
                    $"ONNX Runtime {report.OnnxFractionOfMatmul:P1} of the matmul roof (target ≥ 50%: {Mark(report.MeetsOnnxFraction == true)})");
            return 0;
        }
    }
}
