using System.CommandLine;
using System.Text.Json;
using Coral.Diffusion.Guidance;
using Coral.Ml.Common;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral bench ltg`: wall time of guided vs unguided sampling for the same batch, steps and seeds
/// (target: ratio ≤ 2.0 with the gradient through x̂0 only), plus the through-denoiser variant and images/s.
/// </summary>
public static class BenchLtgCommand
{
    public const double TargetRatio = 2.0;

    public static Command Create()
    {
        var cls = new Option<string>("--class") { Description = "class to sample (index or name)", DefaultValueFactory = _ => "0" };
        var count = new Option<int>("--count") { Description = "images per timed run (one batch unless --batch is smaller)", DefaultValueFactory = _ => 8 };
        var repeats = new Option<int>("--repeats") { Description = "timed runs per variant (the median is reported)", DefaultValueFactory = _ => 3 };
        var denoiser = new Option<bool>("--with-denoiser") { Description = "also time the gradient through the denoiser", DefaultValueFactory = _ => true };
        var outFile = new Option<string>("--out") { Description = "JSON result file", DefaultValueFactory = _ => "runs/bench-ltg.json" };
        var cmd = new Command("ltg", "Benchmark Longtail Guidance: guided/unguided time ratio and images/s.") { cls, count, repeats, denoiser, outFile };
        var ltg = LtgCli.AddOptions(cmd);
        cmd.SetAction((parse, ct) => CliErrors.RunAsync(() => Task.Run(() =>
        {
            var options = ltg.Read(parse);
            using var models = ltg.Load(parse);
            var gen = models.Generator;
            int k = gen.ResolveClass(parse.GetValue(cls)!);
            int n = parse.GetValue(count), reps = Math.Max(1, parse.GetValue(repeats));
            var guidedW = options.Weight > 0 ? options.Weight : new LtgOptions().Weight;
            var variants = new List<(string Name, LtgOptions Options)>
            {
                ("unguided", options with { Weight = 0 }),
                ("guided-x0", options with { Weight = guidedW, Gradient = GradientPath.ThroughX0 }),
            };
            if (parse.GetValue(denoiser)) variants.Add(("guided-denoiser", options with { Weight = guidedW, Gradient = GradientPath.ThroughDenoiser }));
            // One untimed warm-up run (allocator, kernels), then the variants interleaved so background load hits all alike.
            gen.Generate(new LtgRequest { ClassIndex = k, Count = Math.Min(n, options.BatchSize), Options = variants[1].Options with { Steps = 2 } }, null, ct);
            var times = variants.ToDictionary(v => v.Name, _ => new List<double>());
            var totals = variants.ToDictionary(v => v.Name, _ => new List<double>());
            for (int r = 0; r < reps; r++)
                foreach (var (name, o) in variants)
                {
                    var batch = gen.Generate(new LtgRequest { ClassIndex = k, Count = n, Options = o, Seed = 42 }, null, ct);
                    times[name].Add(batch.SamplingSeconds);
                    totals[name].Add(batch.Seconds);
                    Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {name} run {r + 1}/{reps}: sampling {batch.SamplingSeconds:F2} s, with scoring {batch.Seconds:F2} s ({batch.StepsRun} steps, {batch.GuidedSteps} guided)");
                }
            double Median(List<double> v) { var s = v.Order().ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2; }
            double baseT = Median(times["unguided"]), baseMin = times["unguided"].Min();
            var table = new Table().AddColumns("variant", "median sampling s", "images/s", "ratio vs unguided", "images/s incl. scoring");
            var rows = new List<object>();
            foreach (var (name, _) in variants)
            {
                double t = Median(times[name]);
                double tt = Median(totals[name]);
                table.AddRow(name, t.ToString("F2"), (n / t).ToString("F2"), (t / baseT).ToString("F2"), (n / tt).ToString("F2"));
                rows.Add(new { variant = name, medianSamplingSeconds = t, imagesPerSecond = n / t, ratio = t / baseT,
                    // Fastest runs: least disturbed by other processes on a shared machine.
                    minSamplingSeconds = times[name].Min(), ratioOfMin = times[name].Min() / baseMin, medianSecondsWithScoring = tt,
                    imagesPerSecondWithScoring = n / tt, samplingRuns = times[name], runsWithScoring = totals[name] });
            }
            AnsiConsole.Write(table);
            double ratio = Median(times["guided-x0"]) / baseT;
            double ratioMin = times["guided-x0"].Min() / baseMin;
            AnsiConsole.MarkupLine(ratio <= TargetRatio
                ? $"[green]guided/unguided = {ratio:F2} ≤ {TargetRatio}[/] (gradient through x̂0; medians; fastest runs {ratioMin:F2})"
                : $"[red]guided/unguided = {ratio:F2} > {TargetRatio}[/] (gradient through x̂0; medians; fastest runs {ratioMin:F2})");
            var result = new
            {
                command = "coral " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), diffusion = models.DiffusionPath,
                classifier = models.ClassifierPath, images = n, options, guidedWeight = guidedW, repeats = reps, variants = rows,
                ratioX0 = ratio, ratioX0OfFastest = ratioMin, target = TargetRatio, met = ratio <= TargetRatio, threads = TorchSharp.torch.get_num_threads(),
                utc = DateTime.UtcNow.ToString("O"),
            };
            AtomicFile.WriteAllText(parse.GetValue(outFile)!, JsonSerializer.Serialize(result, LtgCli.Json));
            return 0;
        }, ct)));
        return cmd;
    }
}
