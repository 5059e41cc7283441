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
        var data = new DataCliOptions();
        var output = new Option<string>("--out") { Description = "report path without extension (.json and .png are written)", DefaultValueFactory = _ => "docs/results/classifier-signals" };
        var cmd = new Command("signals", "AUROC of every longtail signal for misclassified and tail-class test images; accuracy per class.") { model, output };
        data.AddTo(cmd);
        cmd.SetAction(parse => CliErrors.RunAsync(() => Task.FromResult(Run(parse))));
        return cmd;

        int Run(ParseResult parse)
        {
            string modelPath = parse.GetValue(model)!;
            using var bundle = ClassifierBundle.Load(modelPath);
            var ds = DataSource.Load(data.Read(parse, bundle.Card.Seed));
            var report = SignalEvaluation.Run(bundle, ds.Test, modelPath, $"test set of {ds.Description}") with
            {
                Command = ClassifierCliOptions.CommandLine(),
            };
            string stem = parse.GetValue(output)!;
            AtomicFile.WriteAllText(stem + ".json", Json.Serialize(report));
            SignalPlots.AurocBars(report, stem + ".png");

            var table = new Table().AddColumns("signal", "AUROC misclassified [95%]", "AUROC tail class [95%]", "passes", "ms / 1000 images");
            static string Cell(double a, double[] ci, string verdict) => $"{a:F3} [{ci[0]:F3}–{ci[1]:F3}] {(verdict == "better than chance" ? "" : $"[red]{verdict}[/]")}";
            foreach (var s in report.Signals)
                table.AddRow(s.Signal, Cell(s.AurocMisclassified, s.AurocMisclassifiedInterval, s.MisclassifiedVerdict), Cell(s.AurocTail, s.AurocTailInterval, s.TailVerdict),
                    s.ForwardPasses.ToString(), $"{s.MillisecondsPer1000Images:F0}");
            AnsiConsole.Write(table);
            var acc = new Table().AddColumns("class", "group", "accuracy", "share of images", "share of flags", "flag rate");
            for (int k = 0; k < report.ClassNames.Count; k++)
            {
                var f = report.Flags.Count > k ? report.Flags[k] : null;
                acc.AddRow(Markup.Escape(report.ClassNames[k]), report.Groups[k], $"{report.AccuracyPerClass[k]:P1}",
                    f is null ? "" : $"{f.ShareOfImages:P1}", f is null ? "" : $"{f.ShareOfFlags:P1}", f is null ? "" : $"{f.FlagRate:P1}");
            }
            AnsiConsole.Write(acc);
            AnsiConsole.MarkupLine($"accuracy {report.Accuracy:P2} (ensemble {report.EnsembleAccuracy:P2}), {report.Misclassified} misclassified, {report.TailImages} tail-class images");
            if (report.TailShareOfFlags is double tf)
                AnsiConsole.MarkupLine($"flags ({Markup.Escape(report.FlagSignal!)} > {report.FlagThreshold:G4}): tail classes get {tf:P1} of the flags for {report.TailShareOfImages:P1} of the images");
            if (report.HeadWithinTarget is bool ok)
                AnsiConsole.MarkupLine($"epistemic head − ensemble MI: {report.HeadMinusMiMisclassified:+0.0000;-0.0000} (misclassified), {report.HeadMinusMiTail:+0.0000;-0.0000} (tail); " +
                    $"target ≥ −{SignalEvaluation.HeadTolerance}: {(ok ? "[green]met[/]" : "[red]missed[/]")}; cost ratio {report.HeadCostRatio:F2} (1/K = {1.0 / report.Members:F2})");
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(stem)}.json and .png");
            return 0;
        }
    }
}
