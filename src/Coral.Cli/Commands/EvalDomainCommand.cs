using System.CommandLine;
using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Evaluation;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral eval domain`: how often the out-of-domain mark fires on real test images and on inputs the classifier has no class for.</summary>
public static class EvalDomainCommand
{
    public static Command Create()
    {
        var model = ClassifierCliOptions.Model();
        var data = new DataCliOptions();
        var perSet = new Option<int>("--per-set") { Description = "images in each unfamiliar set (made from test images)", DefaultValueFactory = _ => 2000 };
        var output = new Option<string>("--out") { Description = "report JSON", DefaultValueFactory = _ => "docs/results/domain.json" };
        var cmd = new Command("domain", "Out-of-domain mark: share of real test images marked, and of noise, flat, shuffled and inverted images; AUROC of every signal.") { model, perSet, output };
        data.AddTo(cmd);
        cmd.SetAction(parse => CliErrors.RunAsync(() => Task.FromResult(Run(parse))));
        return cmd;

        int Run(ParseResult parse)
        {
            string outPath = OutputPaths.File(parse.GetValue(output)!, "--out");
            string modelPath = parse.GetValue(model)!;
            string load = MachineLoad.Line() ?? "n/a";
            using var bundle = ClassifierBundle.Load(modelPath);
            var ds = DataSource.Load(data.Read(parse, bundle.Card.Seed));
            var report = DomainEvaluation.Run(bundle, ds.Test, parse.GetValue(perSet)) with
            {
                Model = modelPath, ModelSha256 = FileHash.Sha256(ClassifierBundle.ResolveFile(modelPath)), Dataset = $"test set of {ds.Description}",
                Command = ClassifierCliOptions.CommandLine(), Load = load,
            };
            AtomicFile.WriteAllText(outPath, Json.Serialize(report));

            var signals = report.Sets[0].AurocVersusTest.Keys.ToArray();
            var table = new Table().AddColumns(["set", "images", "marked [[95%]]", .. signals.Select(s => $"AUROC {s}")]);
            table.AddRow(["real test images", report.TestImages.ToString(), $"{report.Verdict.InDomainMarkedShare:P2} [[{report.Verdict.InDomainMarkedCi95[0]:P2}–{report.Verdict.InDomainMarkedCi95[1]:P2}]]", .. signals.Select(_ => "")]);
            foreach (var s in report.Sets)
                table.AddRow([Markup.Escape(s.Set) + (s.FarFromDomain ? "" : " (near)"), s.Images.ToString(), $"{s.MarkedShare:P1} [[{s.MarkedCi95[0]:P1}–{s.MarkedCi95[1]:P1}]]",
                    .. signals.Select(k => $"{s.AurocVersusTest[k][0]:F3}")]);
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine(Markup.Escape($"out of domain: feature distance > {report.Threshold:F2} ({report.Quantile:P1} quantile of {report.ThresholdReference})"));
            AnsiConsole.MarkupLine((report.Verdict.Met ? "[green]met[/]: " : "[red]missed[/]: ") + Markup.Escape(report.Verdict.Summary));
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(outPath)}");
            return 0;
        }
    }
}
