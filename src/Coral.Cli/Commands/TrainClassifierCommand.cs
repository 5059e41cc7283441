using System.CommandLine;
using Coral.Data;
using Coral.Ml;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Signals;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral train classifier`: K-member CNN ensemble on your images (or a long-tailed Fashion-MNIST split), epistemic
/// head, calibration and model card, saved as one bundle. `--judge` trains the independent single network on the full set.
/// </summary>
public static class TrainClassifierCommand
{
    public static Command Create()
    {
        var data = new DataCliOptions();
        var heldOutFraction = new Option<double>("--held-out") { Description = "share of each class of the training split held out for the epistemic head and the flag calibration", DefaultValueFactory = _ => new RecipeOptions().HeldOutFraction };
        var members = new Option<int>("--members") { Description = "ensemble members K (member 0 is the deployed classifier)", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "seed of the split, initialisation and data order", DefaultValueFactory = _ => 0 };
        var epochs = new Option<int>("--epochs") { Description = "epochs per member", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 128 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate (cosine decay)", DefaultValueFactory = _ => 2e-3 };
        var outDir = new Option<string>("--out") { Description = "bundle folder (bundle.ckpt + model-card.json)", DefaultValueFactory = _ => ClassifierBundle.DefaultClassifierPath };
        var checkpoints = new Option<string?>("--checkpoints") { Description = "per-epoch checkpoints (default artifacts/train-classifier/<out name>)" };
        var resume = new Option<bool>("--resume") { Description = "continue from the per-epoch checkpoints" };
        var flagRate = new Option<double>("--flag-rate") { Description = "share of the held-out reference set to flag", DefaultValueFactory = _ => 0.05 };
        var flagSignal = new Option<string>("--flag-signal") { Description = "signal that decides the flag", DefaultValueFactory = _ => "epistemic-head" };
        var judge = new Option<bool>("--judge") { Description = "independent judge: one network, full balanced set, no head (sets --imbalance 1 --members 1)" };
        var degrade = new Option<bool>("--degrade") { Description = "train on sampler-like degradations (blur, noise); on by default with --judge" };
        var conv = new Option<string?>("--conv") { Description = "conv widths 'c1,c2' of the CNN (default 16,32; 32,64 with --judge)" };
        var maxTrain = new Option<int?>("--max-train") { Description = "use at most this many training images (quick runs)" };
        var logitAdjust = ClassifierCliOptions.LogitAdjust("the members");
        var addImages = new Option<string[]>("--add-images") { Description = "folder of extra labelled images, one sub-folder per class (repeatable; `coral review pull-curated` fills one from curated/)", AllowMultipleArgumentsPerToken = true };
        var addCurated = new Option<bool>("--add-curated") { Description = "also train on every approved image in the pipeline's curated/ (storage from --connection and --name-prefix), pulled afresh into <checkpoints>/curated" };
        var connection = ServeCommand.ConnectionOption();
        var prefix = ReviewCommand.PrefixOption();
        var cmd = new Command("classifier", "Train the classifier bundle (ensemble, epistemic head, calibration, model card).")
        {
            heldOutFraction, members, seed, epochs, batch, lr, outDir, checkpoints, resume, flagRate, flagSignal, judge, degrade, conv, maxTrain, addImages, logitAdjust,
            addCurated, connection, prefix,
        };
        data.AddTo(cmd);
        cmd.SetAction((parse, ct) => CliErrors.RunAsync(async () => Run(parse, await PullCuratedAsync(parse, ct))));
        return cmd;

        // Pulled into a fresh folder: an image rejected since an earlier pull must not stay in the training set.
        async Task<string?> PullCuratedAsync(ParseResult parse, CancellationToken ct)
        {
            if (!parse.GetValue(addCurated)) return null;
            string dir = Path.Combine(CheckpointDir(parse), "curated");
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            var counts = await new Pipeline.Review.ReviewService(ReviewCommand.Storage(parse, connection, prefix)).PullCuratedAsync(dir, ct);
            if (counts.Count == 0)
                throw new ArgumentException($"--add-curated: curated/ (name prefix '{parse.GetValue(prefix)}') holds no approved image; approve a batch with `coral review approve` first, or check --connection and --name-prefix");
            AnsiConsole.MarkupLine($"{counts.Values.Sum()} approved images from curated/ → {Markup.Escape(dir)}: {Markup.Escape(string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}")))}");
            return dir;
        }

        string CheckpointDir(ParseResult parse) =>
            parse.GetValue(checkpoints) ?? Path.Combine("artifacts", "train-classifier", Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(parse.GetValue(outDir)!))));

        int Run(ParseResult parse, string? curated)
        {
            TorchRuntime.EnsureLoaded();
            bool isJudge = parse.GetValue(judge);
            string output = parse.GetValue(outDir)!;
            string ckptDir = CheckpointDir(parse);
            var options = new RecipeOptions
            {
                Data = data.Read(parse, parse.GetValue(seed)),
                Imbalance = isJudge ? 1 : parse.GetValue(data.Imbalance),
                HeldOutFraction = parse.GetValue(heldOutFraction),
                Members = isJudge ? 1 : parse.GetValue(members),
                Seed = parse.GetValue(seed),
                WithHead = !isJudge,
                FlagRate = parse.GetValue(flagRate),
                FlagSignal = LongtailSignals.Parse(parse.GetValue(flagSignal)!),
                MaxTrainImages = parse.GetValue(maxTrain),
                AddImages = [.. parse.GetValue(addImages) ?? [], .. curated is null ? [] : new[] { curated }], ClassFolderName = Pipeline.Contracts.BlobPaths.ClassFolder,
                ConvWidths = ParseConv(parse.GetValue(conv) ?? (isJudge ? "32,64" : null)),
                Kind = isJudge ? "judge" : "classifier",
                Purpose = isJudge
                    ? "independent judge: penultimate features for classifier-feature FID and class consistency of generated images"
                    : "default scorer: flags field images that are longtail for this classifier",
                Command = ClassifierCliOptions.CommandLine(),
                Train = new TrainOptions
                {
                    Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr),
                    CheckpointDir = ckptDir, Resume = parse.GetValue(resume), Degrade = isJudge || parse.GetValue(degrade),
                    LogitAdjustment = parse.GetValue(logitAdjust),
                },
            };
            using var bundle = SpectreProgress.Run(p => ClassifierRecipe.Train(options, p));
            bundle.Save(output);
            // The scorer runs the same graph in ONNX Runtime: written with every bundle so the two never drift apart.
            if (!isJudge) Coral.Ml.Export.BundleOnnxExporter.Save(bundle, ExportCommand.DefaultPath(output), ClassifierBundle.VersionOf(output));
            var card = bundle.Card;
            var table = new Table().AddColumns("class", "name", "train count", "group", "test accuracy");
            for (int k = 0; k < bundle.NumClasses; k++)
                table.AddRow(k.ToString(), Markup.Escape(bundle.ClassNames[k]), card.TrainCountsPerClass[k].ToString(), card.Groups[k], $"{card.TestAccuracyPerClass[k]:P1}");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"test accuracy {card.TestAccuracy:P2} (ensemble {card.EnsembleTestAccuracy:P2}); " +
                (card.EpistemicHead is { } h ? $"head fit r={h.TargetCorrelation:F3}; " : "") +
                (card.Calibration is { } c ? $"flag: {Markup.Escape(c.FlagSignal)} > {c.Thresholds[c.FlagSignal]:G4} ({c.FlagRate:P0} of {c.ReferenceImages} reference images); " : "") +
                $"{card.TrainingSeconds:F0} s");
            AnsiConsole.MarkupLine($"saved [green]{Markup.Escape(ClassifierBundle.ResolveFile(output))}[/] ({new FileInfo(ClassifierBundle.ResolveFile(output)).Length / 1024} KiB)");
            return 0;
        }
    }

    private static (int, int)? ParseConv(string? text)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 2 && int.TryParse(parts[0], out int a) && int.TryParse(parts[1], out int b) && a > 0 && b > 0) return (a, b);
        throw new ArgumentException($"--conv: '{text}' is not two positive widths like 32,64");
    }
}
