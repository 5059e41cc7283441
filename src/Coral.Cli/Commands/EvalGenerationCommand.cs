using System.CommandLine;
using Coral.Data;
using Coral.Diffusion;
using Coral.Diffusion.Evaluation;
using Coral.Ml;
using Coral.Ml.Classification;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral eval generation`: classifier-feature FID (overall, per class, head/middle/tail) and class consistency.</summary>
public static class EvalGenerationCommand
{
    public static Command Create()
    {
        var models = new Option<string[]>("--model") { Description = "diffusion model folder(s); several → per-arm mean ± std", Required = true, AllowMultipleArgumentsPerToken = true };
        var judgePath = new Option<string>("--judge") { Description = "independent classifier trained on the full balanced set", DefaultValueFactory = _ => ClassifierBundle.DefaultJudgePath };
        var data = new DataCliOptions();
        var perClass = new Option<int>("--samples-per-class") { DefaultValueFactory = _ => 50 };
        var steps = new Option<int>("--steps") { Description = "DDIM steps", DefaultValueFactory = _ => 25 };
        var eta = new Option<double>("--eta") { DefaultValueFactory = _ => 0.0 };
        var guidance = new Option<double>("--guidance-scale") { Description = "classifier-free guidance ω", DefaultValueFactory = _ => new GenerationEvalOptions().GuidanceScale };
        var seed = new Option<int>("--seed") { Description = "sampling seed", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string>("--out") { Description = "output folder (JSON, PNGs, cached samples)", Required = true };
        var cmd = new Command("generation", "FID per class/group and class consistency of generated samples, judged by an independent classifier.")
        {
            models, judgePath, perClass, steps, eta, guidance, seed, outDir,
        };
        data.AddTo(cmd);
        cmd.SetAction(parse => CliErrors.RunAsync(() => Task.Run(() =>
        {
            TorchRuntime.EnsureLoaded();
            string judgeDir = parse.GetValue(judgePath)!;
            using var judge = ClassifierBundle.Load(judgeDir);
            var test = DataSource.Load(data.Read(parse)).Test;   // real images the models and the judge never trained on
            var evaluator = new GenerationEvaluator(judge, test, judgeDir);
            var options = new GenerationEvalOptions
            {
                SamplesPerClass = parse.GetValue(perClass), Steps = parse.GetValue(steps), Eta = parse.GetValue(eta),
                GuidanceScale = parse.GetValue(guidance), Seed = parse.GetValue(seed),
            };
            string output = parse.GetValue(outDir)!;
            Directory.CreateDirectory(output);
            var reports = new List<GenerationReport>();
            foreach (var path in parse.GetValue(models)!)
            {
                using var model = DiffusionModel.Load(path);
                string name = model.Card?.Name is { Length: > 0 } n ? n : Path.GetFileName(Path.GetFullPath(path).TrimEnd('/'));
                var log = new ActionLog(m => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(name)}: {Markup.Escape(m)}[/]"));
                var r = evaluator.Evaluate(model, name, options, Path.Combine(output, name), log);
                reports.Add(r);
                AnsiConsole.MarkupLine($"{Markup.Escape(name)}: FID {r.FidOverall:F2} (head {r.FidGroupMean["Head"]:F2} middle {r.FidGroupMean["Middle"]:F2} tail {r.FidGroupMean["Tail"]:F2}), consistency {r.ConsistencyOverall:P1}");
            }
            string judgeSha = Coral.Ml.Common.FileHash.Sha256(ClassifierBundle.ResolveFile(judgeDir));
            var (arms, verdict) = GenerationSummary.Of(evaluator, reports, judgeSha);
            GenerationEvaluator.WriteJson(Path.Combine(output, "summary.json"), new { verdict, options, judge = new { path = judgeDir, sha256 = judgeSha }, arms, runs = reports });
            GenerationPlots.Compare(arms, reports[0].ClassNames, reports[0].Groups, Path.Combine(output, "fid-per-class-by-arm.png"));
            var table = new Table().AddColumns("arm", "runs", "FID", "head", "middle", "tail", "consistency", "tail consistency");
            foreach (var a in arms)
                table.AddRow(a.Arm, a.Runs.ToString(), a.FidOverall.ToString(), a.FidGroup["Head"].ToString(), a.FidGroup["Middle"].ToString(),
                    a.FidGroup["Tail"].ToString(), $"{a.Consistency.Mean:P1} ± {a.Consistency.Std:P1}", $"{a.ConsistencyGroup["Tail"].Mean:P1} ± {a.ConsistencyGroup["Tail"].Std:P1}");
            AnsiConsole.Write(table);
            if (verdict.TailFidRatioCoralOverDdpm is { } ratio)
                AnsiConsole.MarkupLine($"tail FID CORAL/DDPM {ratio:F3} [[95% {verdict.TailFidRatioLow95:F3}–{verdict.TailFidRatioHigh95:F3}]] (target ≤ {GenerationSummary.TailFidRatioTarget}, interval below 1)");
            AnsiConsole.MarkupLine($"lowest tail-class consistency ({verdict.MinTailClassConsistencyArm}): {verdict.MinTailClassConsistencyUnguided:P1} (target ≥ {GenerationSummary.TailConsistencyTarget:P0}); judge sha256 {judgeSha[..12]}");
            AnsiConsole.MarkupLine($"results → {Markup.Escape(output)}");
            return 0;
        })));
        return cmd;
    }


    private sealed class ActionLog(Action<string> write) : IProgress<string>
    {
        public void Report(string value) => write(value);
    }
}
