using System.CommandLine;
using Coral.Data;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral data report`: what a --data folder holds: shape, classes, counts per class, groups, skipped files.</summary>
public static class DataCommands
{
    public static Command Create()
    {
        var group = new Command("data", "Inspect datasets and long-tailed splits.");
        var data = new DataCliOptions();
        var seed = new Option<int>("--seed") { Description = "seed of the long-tailed subsampling and of the test split", DefaultValueFactory = _ => 0 };
        var report = new Command("report", "Print shape, counts per class (train / test) and head/middle/tail groups.") { seed };
        data.AddTo(report);
        report.SetAction(parse => CliErrors.RunAsync(() => Task.FromResult(Report(DataSource.Load(data.Read(parse, parse.GetValue(seed))), parse.GetValue(data.Imbalance), parse.GetValue(seed)))));
        group.Subcommands.Add(report);
        return group;
    }

    private static int Report(Dataset ds, double? imbalance, int seed)
    {
        double rho = imbalance ?? ds.DefaultImbalance;
        var train = rho >= 1 ? ds.Train : LongTailSplit.Apply(ds.Train, rho, seed);
        var counts = train.CountsPerClass();
        var testCounts = ds.Test.CountsPerClass();
        var groups = LongTailSplit.Groups(counts);
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(ds.Name)}[/]: {Markup.Escape(ds.Description)}");
        AnsiConsole.MarkupLine($"shape {ds.Shape}, {ds.ClassNames.Count} classes{(rho < 1 ? $", long-tailed subsample ρ={rho}" : "")}");
        var table = new Table().AddColumns("class", "name", "train", "test", "group");
        for (int k = 0; k < train.NumClasses; k++)
            table.AddRow(k.ToString(), Markup.Escape(train.ClassNames[k]), counts[k].ToString(), testCounts[k].ToString(), groups[k].ToString());
        table.AddRow("", "[bold]total[/]", $"[bold]{train.Count}[/]", $"[bold]{ds.Test.Count}[/]", "");
        AnsiConsole.Write(table);
        if (ds.Skipped.Count > 0)
        {
            AnsiConsole.MarkupLine($"[yellow]skipped {ds.Skipped.Count} unreadable file(s)[/]:");
            foreach (var s in ds.Skipped.Take(20)) AnsiConsole.MarkupLine($"  {Markup.Escape(s.Path)}: {Markup.Escape(s.Reason)}");
            if (ds.Skipped.Count > 20) AnsiConsole.MarkupLine($"  … and {ds.Skipped.Count - 20} more");
        }
        return 0;
    }
}
