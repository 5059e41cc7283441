using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Coral.Data;
using Coral.Diffusion.Guidance;
using Coral.Diffusion.Training;
using Coral.Diffusion;
using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Signals;
using Spectre.Console;
using static TorchSharp.torch;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral eval ltg`: (a) w-sweep of the mean longtail signal (must rise with w; plotted), (b) class consistency at
/// the default w judged by an independent classifier, (c) fine-tuning with N LTG images per tail class against the
/// controls (no extra data, the reviewed sources only, oversampling, logit adjustment, classical augmentation, unguided
/// diffusion) over seeds, optionally each image-adding arm again with the logit-adjusted loss.
/// </summary>
public static class EvalLtgCommand
{
    public static Command Create()
    {
        var judge = new Option<string>("--judge") { Description = "independent classifier for class consistency (not the guiding one)", DefaultValueFactory = _ => "models/judge" };
        var data = new DataCliOptions();
        var weights = new Option<string>("--weights") { Description = "w values of the sweep, comma-separated (the default --weight is added)", DefaultValueFactory = _ => "0,0.1,0.2,0.3,0.5" };
        var classes = new Option<string?>("--classes") { Description = "classes to generate (indices or names, comma-separated; default: the guiding classifier's tail classes)" };
        var count = new Option<int>("--count") { Description = "(a)/(b): images per class per w", DefaultValueFactory = _ => 8 };
        var parts = new Option<string>("--parts") { Description = "which parts to run: a, b, c (comma-separated)", DefaultValueFactory = _ => "a,b,c" };
        var n = new Option<int>("--retrain-n") { Description = "(c): extra images per tail class in each arm (generated, oversampled or augmented)", DefaultValueFactory = _ => 16 };
        var retrainSources = new Option<int>("--retrain-sources") { Description = "(c): reviewed real field images per tail class in every arm but 'none'", DefaultValueFactory = _ => 8 };
        var seeds = new Option<int>("--retrain-seeds") { Description = "(c): seeds (generation and fine-tuning)", DefaultValueFactory = _ => 3 };
        var epochs = new Option<int>("--retrain-epochs") { Description = "(c): fine-tuning epochs over LT train + extra images", DefaultValueFactory = _ => 1 };
        var lr = new Option<double>("--retrain-lr") { Description = "(c): fine-tuning learning rate (Adam)", DefaultValueFactory = _ => 5e-4 };
        var cosine = new Option<bool>("--retrain-cosine") { Description = "(c): decay the fine-tuning learning rate to 0 (half cosine) instead of keeping it constant", DefaultValueFactory = _ => false };
        var laTwins = new Option<bool>("--retrain-la-twins") { Description = "(c): also fine-tune each arm that adds images with the logit-adjusted loss (arms '…+la', same images)", DefaultValueFactory = _ => false };
        var verdictArm = new Option<string>("--verdict-arm") { Description = "(c): the LTG arm the verdict compares with the best control: ltg, or ltg+la with --retrain-la-twins (choose it on the tuning draw)", DefaultValueFactory = _ => "ltg" };
        var arms = new Option<string?>("--retrain-arms") { Description = $"(c): the arms to run, comma-separated (default: {string.Join(",", LtgEvaluation.Arms.Select(a => a.Name))}; also {string.Join(",", LtgEvaluation.ReferenceArms.Select(a => a.Name))}, a ceiling that is never a control)" };
        var sourcesPerClass = new Option<int>("--sources-per-class") { Description = "0: start from noise; m > 0: SDEdit from m held-out real images per class (outside the LT split, never test images), count/m images each", DefaultValueFactory = _ => 0 };
        var seed = new Option<long>("--seed") { Description = "base seed of the sweep", DefaultValueFactory = _ => 0 };
        var draw = new Option<int>("--source-draw") { Description = "which draw of held-out source images to use (0 = the reported one; use another draw, with another --seed, to tune settings without touching the reported sources)", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string>("--out") { Description = "results folder (eval-ltg.json, ltg-sweep.png, sample grids)", DefaultValueFactory = _ => "runs/eval-ltg" };
        var cmd = new Command("ltg", "Evaluate Longtail Guidance: w-sweep, class consistency (judge), retraining experiment.")
        {
            judge, weights, classes, count, parts, n, retrainSources, seeds, epochs, lr, cosine, laTwins, verdictArm, arms, sourcesPerClass, seed, draw, outDir,
        };
        data.AddTo(cmd);
        var ltg = LtgCli.AddOptions(cmd);
        cmd.SetAction((parse, ct) => CliErrors.RunAsync(() => Task.Run(() =>
        {
            var options = ltg.Read(parse);
            OutputPaths.Folder(parse.GetValue(outDir)!, "--out");
            var run = parse.GetValue(parts)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).ToHashSet();
            if (run.Count == 0 || run.Any(p => p is not ("a" or "b" or "c"))) throw new DiffusionInputException("--parts", $"'{parse.GetValue(parts)}' must list a, b and/or c");
            if (parse.GetValue(draw) < 0) throw new DiffusionInputException("--source-draw", $"must be ≥ 0, got {parse.GetValue(draw)}");
            using var models = ltg.Load(parse);
            var gen = models.Generator;
            ClassifierBundle? judgeBundle = null;
            if (run.Contains("b"))
            {
                string jp = parse.GetValue(judge)!;
                if (!File.Exists(ClassifierBundle.ResolveFile(jp))) throw new FileNotFoundException($"--judge: {ClassifierBundle.ResolveFile(jp)} does not exist (train one with `coral train classifier --judge`)");
                judgeBundle = ClassifierBundle.Load(jp);
            }
            using var judgeScope = judgeBundle;
            string dir = parse.GetValue(outDir)!;
            var evaluation = new LtgEvaluationOptions
            {
                Ltg = options,
                Weights = ParseWeights(parse.GetValue(weights)!).Append(options.Weight).Distinct().Order().ToArray(),
                Classes = parse.GetValue(classes) is { } text
                    ? [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(gen.ResolveClass)]
                    : LtgEvaluation.TailClasses(models.Guide),
                Sweep = run.Contains("a"), Consistency = run.Contains("b"), Retraining = run.Contains("c"),
                ImagesPerClass = parse.GetValue(count), SourcesPerClass = parse.GetValue(sourcesPerClass), Seed = parse.GetValue(seed), SourceDraw = parse.GetValue(draw),
                RetrainImagesPerClass = parse.GetValue(n), RetrainSourcesPerClass = parse.GetValue(retrainSources), RetrainSeeds = parse.GetValue(seeds),
                RetrainLogitAdjustedTwins = parse.GetValue(laTwins), VerdictArm = parse.GetValue(verdictArm)!,
                RetrainArms = parse.GetValue(arms) is { } armList ? armList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null,
                FineTune = new FineTuning.Options(parse.GetValue(epochs), 128, parse.GetValue(lr), 0, parse.GetValue(cosine)),
                Data = data.Read(parse, models.Guide.Card.Seed), OutputDirectory = dir, Resolution = models.Diffusion.Resolution,
                JudgePath = parse.GetValue(judge), DiffusionPath = models.DiffusionPath, ClassifierPath = models.ClassifierPath,
            };
            var report = LtgEvaluation.Run(gen, models.Guide, judgeBundle, evaluation,
                (request, label) => LtgCli.RunWithProgress(gen, request, ct, label), line => AnsiConsole.MarkupLine(Markup.Escape(line)), ct);
            report["command"] = "coral " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
            var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(report, LtgCli.Json))!;
            node["verdict"] = LtgVerdict.FromReport(node);
            AtomicFile.WriteAllText(Path.Combine(dir, "eval-ltg.json"), node.ToJsonString(LtgCli.Json));
            AnsiConsole.MarkupLine($"verdict: {Markup.Escape(node["verdict"]!["status"]!.ToString())}");
            AnsiConsole.MarkupLine($"results → {Markup.Escape(Path.Combine(dir, "eval-ltg.json"))}");
            return 0;
        }, ct)));
        return cmd;
    }

    /// <summary>`coral eval ltg-verdict REPORT`: the verdict of a finished report, recomputed from its JSON (for reports written before verdicts).</summary>
    public static Command CreateVerdict()
    {
        var report = new Argument<string>("report") { Description = "eval-ltg.json of a finished run" };
        var cmd = new Command("ltg-verdict", "Print (and add) the machine-readable verdict of an `eval ltg` report.") { report };
        cmd.SetAction(parse => CliErrors.RunAsync(() =>
        {
            string path = parse.GetValue(report)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"report: {path} does not exist");
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"report: {path} is empty");
            node["verdict"] = LtgVerdict.FromReport(node);
            AtomicFile.WriteAllText(path, node.ToJsonString(LtgCli.Json));
            Console.WriteLine(node["verdict"]!.ToJsonString(LtgCli.Json));
            return Task.FromResult(0);
        }));
        return cmd;
    }

    private static double[] ParseWeights(string text)
    {
        try { return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => double.Parse(s, CultureInfo.InvariantCulture))]; }
        catch (FormatException) { throw new DiffusionInputException("--weights", $"'{text}' is not a comma-separated list of numbers"); }
    }
}
