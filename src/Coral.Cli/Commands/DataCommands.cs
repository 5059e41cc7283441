using System.CommandLine;
using Coral.Data;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral data report`: class counts of a (long-tailed) dataset split.</summary>
public static class DataCommands
{
    public static Command Create()
    {
        var data = new Command("data", "Inspect datasets and long-tailed splits.");
        var dir = new Option<string>("--data") { Description = "Fashion-MNIST folder (IDX files)", DefaultValueFactory = _ => FashionMnist.DefaultDirectory };
        var imbalance = new Option<double>("--imbalance") { Description = "ρ = n_min/n_max of the long-tailed split (1 = full set)", DefaultValueFactory = _ => 0.01 };
        var seed = new Option<int>("--seed") { Description = "seed of the long-tailed subsampling", DefaultValueFactory = _ => 0 };
        var report = new Command("report", "Print counts per class and head/middle/tail groups.") { dir, imbalance, seed };
        report.SetAction(parse =>
        {
            var full = FashionMnist.Load(FashionMnist.Split.Train, parse.GetValue(dir));
            var lt = LongTailSplit.Apply(full, parse.GetValue(imbalance), parse.GetValue(seed));
            var counts = lt.CountsPerClass();
            var groups = LongTailSplit.Groups(counts);
            var table = new Table().AddColumns("class", "name", "count", "group");
            for (int k = 0; k < lt.NumClasses; k++)
                table.AddRow(k.ToString(), Markup.Escape(lt.ClassNames[k]), counts[k].ToString(), groups[k].ToString());
            table.AddRow("", "[bold]total[/]", $"[bold]{lt.Count}[/]", "");
            AnsiConsole.Write(table);
            return 0;
        });
        data.Subcommands.Add(report);
        return data;
    }
}
