using System.CommandLine;
using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral eval retrain`: one turn of the loop measured. Member 0 of the classifier is fine-tuned with and without the
/// approved images (same seed and schedule), and test accuracy per class is printed side by side.
/// </summary>
public static class EvalRetrainCommand
{
    public static Command Create()
    {
        var model = ClassifierCliOptions.Model();
        var data = new DataCliOptions();
        var addImages = new Option<string>("--add-images") { Description = "approved images, one sub-folder per class (`coral review pull-curated` writes one)", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "fine-tuning epochs (both arms)", DefaultValueFactory = _ => 2 };
        var lr = new Option<double>("--lr") { Description = "fine-tuning learning rate (Adam, half-cosine decay)", DefaultValueFactory = _ => 5e-4 };
        var seed = new Option<int>("--seed") { Description = "fine-tuning seed (both arms)", DefaultValueFactory = _ => 0 };
        var logitAdjust = ClassifierCliOptions.LogitAdjust("both arms");
        var output = new Option<string?>("--out") { Description = "write the comparison as JSON here" };
        var cmd = new Command("retrain", "Fine-tune the classifier with and without the approved images and compare test accuracy per class.")
        {
            model, addImages, epochs, lr, seed, logitAdjust, output,
        };
        data.AddTo(cmd);
        cmd.SetAction(parse => CliErrors.RunAsync(() => Task.FromResult(Run(parse))));
        return cmd;

        int Run(ParseResult parse)
        {
            if (parse.GetValue(output) is { } target) OutputPaths.File(target, "--out");
            using var bundle = ClassifierBundle.Load(parse.GetValue(model)!);
            var ds = DataSource.Load(data.Read(parse, bundle.Card.Seed));
            var options = new FineTuning.Options(parse.GetValue(epochs), 128, parse.GetValue(lr), parse.GetValue(seed), Cosine: true,
                LogitAdjustment: parse.GetValue(logitAdjust));
            var r = AnsiConsole.Status().Start($"fine-tuning member 0 twice ({options.Epochs} epoch(s) each): without and with the approved images",
                _ => RetrainComparison.Run(bundle, ds, parse.GetValue(addImages)!, Pipeline.Contracts.BlobPaths.ClassFolder, options));
            var table = new Table().AddColumns("class", "approved images", "deployed", "fine-tuned without", "fine-tuned with", "change");
            for (int k = 0; k < r.ClassNames.Count; k++)
            {
                string name = Markup.Escape(r.ClassNames[k]) + (r.TailClasses.Contains(k) ? " [grey](tail)[/]" : "");
                double d = r.With.PerClass[k] - r.Without.PerClass[k];
                table.AddRow(name, r.AddedPerClass[k].ToString(), $"{r.Deployed.PerClass[k]:P1}", $"{r.Without.PerClass[k]:P1}", $"{r.With.PerClass[k]:P1}", Change(d));
            }
            table.AddRow("[bold]tail classes[/]", r.TailClasses.Sum(k => r.AddedPerClass[k]).ToString(), $"{r.Deployed.Tail:P1}", $"{r.Without.Tail:P1}", $"{r.With.Tail:P1}", Change(r.With.Tail - r.Without.Tail));
            table.AddRow("[bold]all[/]", r.Added.ToString(), $"{r.Deployed.Overall:P1}", $"{r.Without.Overall:P1}", $"{r.With.Overall:P1}", Change(r.With.Overall - r.Without.Overall));
            AnsiConsole.Write(table);
            if (options.LogitAdjustment > 0)
                AnsiConsole.MarkupLine($"both fine-tunes use the logit-adjusted loss (τ = {options.LogitAdjustment:G3}): \"without\" is what the loss alone does, \"change\" what the images add to it.");
            AnsiConsole.MarkupLine($"{r.Added} approved images, {r.TestImages} test images, one seed: a change under about " +
                $"{100 * 1.96 * Math.Sqrt(0.25 / Math.Max(1, r.TestImages / Math.Max(1, r.ClassNames.Count))):F1} pp per class is within test-set noise (docs/results/ltg.md has the measured, multi-seed experiment).");
            if (parse.GetValue(output) is { } path) AtomicFile.WriteAllText(path, Json.Serialize(r));
            return 0;
        }
    }

    private static string Change(double d) => d == 0 ? "±0.0 pp" : $"[{(d > 0 ? "green" : "red")}]{d * 100:+0.0;-0.0} pp[/]";
}
