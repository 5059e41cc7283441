using System.CommandLine;
using Coral.Diffusion;
using Coral.Diffusion.Evaluation;
using Coral.Ml;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral bench diffusion`: CORAL/plain training-step ratio (target ≤ 1.05) and DDIM 50-step images/s against the matmul roof.</summary>
public static class BenchDiffusionCommand
{
    public static Command Create()
    {
        var defaults = new DiffusionBenchOptions();
        var steps = new Option<int>("--steps") { Description = "timed training steps per arm (interleaved)", DefaultValueFactory = _ => defaults.Steps };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => defaults.BatchSize };
        var model = new Option<string>("--model") { Description = "diffusion model folder: its network is benchmarked", DefaultValueFactory = _ => Coral.Pipeline.Names.Defaults.DiffusionPath };
        var sampleBatch = new Option<int>("--sample-batch") { DefaultValueFactory = _ => defaults.SampleBatch };
        var outFile = new Option<string?>("--out") { Description = "write the result as JSON here" };
        var cmd = new Command("diffusion", "Benchmark: CORAL vs plain DDPM train step, and DDIM 50-step sampling throughput.")
        {
            steps, batch, model, sampleBatch, outFile,
        };
        cmd.SetAction(parse => CliErrors.RunAsync(() => Task.Run(() =>
        {
            TorchRuntime.EnsureLoaded();
            using var dm = DiffusionModel.Load(parse.GetValue(model)!);
            var o = defaults with { Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), SampleBatch = parse.GetValue(sampleBatch) };
            var r = DiffusionBenchmark.Run(dm, o, m => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(m)}[/]"));
            bool met = r.StepRatio <= DiffusionBenchmark.StepRatioTarget;
            var table = new Table().AddColumns("measure", "value", "target");
            table.AddRow($"train step, plain DDPM (batch {r.BatchSize}, {r.Shape})", $"{r.PlainStepMs:F0} ms", "");
            table.AddRow("train step, CORAL", $"{r.CoralStepMs:F0} ms", "");
            table.AddRow("CORAL / plain", $"{r.StepRatio:F3}", $"[{(met ? "green" : "red")}]≤ {DiffusionBenchmark.StepRatioTarget}[/]");
            table.AddRow($"DDIM {r.SamplingSteps} steps, ω={r.GuidanceScale} (batch {r.SampleBatch})", $"{r.ImagesPerSecond:F2} images/s", "");
            table.AddRow("sampling FLOP/s", $"{r.AchievedGflops:F1} GFLOP/s = {r.FractionOfMatmul:P1} of the {r.MatmulGflops:F1} GFLOP/s matmul roof", "");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"[grey]torch threads {r.Threads}; shared machine: rerun for stable numbers[/]");
            if (parse.GetValue(outFile) is { } path) GenerationEvaluator.WriteJson(path, r);
            return met ? 0 : 1;
        })));
        return cmd;
    }
}
