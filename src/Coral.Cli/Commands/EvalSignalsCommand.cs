using System.CommandLine;
using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Evaluation;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral eval signals`: AUROC of each longtail signal for misclassified and tail-class test images, JSON + PNG.</summary>
public static class EvalSignalsCommand
{
    public static Command Create()
    {
        var model = ClassifierCliOptions.Model();
        var data = ClassifierCliOptions.Data();
        var output = new Option<string>("--out") { Description = "report path without extension (.json and .png are written)", DefaultValueFactory = _ => "docs/results/classifier-signals" };
        var cmd = new Command("signals", "AUROC of every longtail signal for misclassified and tail-class test images; accuracy per class.") { model, data, output };
        cmd.SetAction(parse => CliErrors.RunAsync(() => Task.FromResult(Run(parse))));
        return cmd;

        int Run(ParseResult parse)
        {
            string modelPath = parse.GetValue(model)!;
            using var bundle = ClassifierBundle.Load(modelPath);
            var test = FashionMnist.Load(FashionMnist.Split.Test, parse.GetValue(data));
            var report = SignalEvaluation.Run(bundle, test, modelPath) with
            {
                Command = ClassifierCliOptions.CommandLine(),
            };
            string stem = parse.GetValue(output)!;
            AtomicFile.WriteAllText(stem + ".json", Json.Serialize(report));
            SignalPlots.AurocBars(report, stem + ".png");

            var table = new Table().AddColumns("signal", "AUROC misclassified", "AUROC tail class", "passes", "ms / 1000 images");
            foreach (var s in report.Signals)
                table.AddRow(s.Signal, $"{s.AurocMisclassified:F4}", $"{s.AurocTail:F4}", s.ForwardPasses.ToString(), $"{s.MillisecondsPer1000Images:F0}");
            AnsiConsole.Write(table);
            var acc = new Table().AddColumns("class", "group", "accuracy");
            for (int k = 0; k < report.ClassNames.Count; k++) acc.AddRow(Markup.Escape(report.ClassNames[k]), report.Groups[k], $"{report.AccuracyPerClass[k]:P1}");
            AnsiConsole.Write(acc);
            AnsiConsole.MarkupLine($"accuracy {report.Accuracy:P2} (ensemble {report.EnsembleAccuracy:P2}), {report.Misclassified} misclassified, {report.TailImages} tail-class images");
            if (report.HeadWithinTarget is bool ok)
                AnsiConsole.MarkupLine($"epistemic head − ensemble MI: {report.HeadMinusMiMisclassified:+0.0000;-0.0000} (misclassified), {report.HeadMinusMiTail:+0.0000;-0.0000} (tail); " +
                    $"target ≥ −{SignalEvaluation.HeadTolerance}: {(ok ? "[green]met[/]" : "[red]missed[/]")}; cost ratio {report.HeadCostRatio:F2} (1/K = {1.0 / report.Members:F2})");
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(stem)}.json and .png");
            return 0;
        }
    }
}
