using ScottPlot;

namespace Coral.Diffusion.Evaluation;

/// <summary>ScottPlot bars: FID per class for one model, and CORAL vs DDPM (mean ± std over seeds).</summary>
public static class GenerationPlots
{
    public static void FidPerClass(GenerationReport r, string path)
    {
        var plot = new Plot();
        var bars = r.FidPerClass.Select((v, i) => new Bar { Position = i, Value = v, FillColor = GroupColor(r.Groups[i]), Label = v.ToString("F1") }).ToList();
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, r.ClassNames.Length).Select(i => (double)i)], r.ClassNames);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Left.Label.Text = "classifier-feature FID (lower is better)";
        plot.Title($"{r.Model}: FID overall {r.FidOverall:F1}, tail {r.FidGroupMean["Tail"]:F1}");
        Legend(plot);
        Save(plot, path, 900, 520);
    }

    public static void Compare(IReadOnlyList<ArmSummary> arms, string[] classNames, string[] groups, string path)
    {
        var plot = new Plot();
        var colors = new[] { Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen };
        for (int a = 0; a < arms.Count; a++)
        {
            var bars = arms[a].FidPerClass.Select((m, i) => new Bar
            {
                Position = i * (arms.Count + 1) + a, Value = m.Mean, Error = m.Std, FillColor = colors[a % colors.Length],
            }).ToList();
            plot.Add.Bars(bars);
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"{arms[a].Arm} (n={arms[a].Runs})", FillColor = colors[a % colors.Length] });
        }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, classNames.Length).Select(i => i * (arms.Count + 1) + (arms.Count - 1) / 2.0)],
            [.. classNames.Select((n, i) => $"{n}\n({groups[i]})")]);
        plot.Axes.Left.Label.Text = "classifier-feature FID, mean ± std over seeds";
        plot.Title($"Per-class FID by arm: {string.Join(" vs ", arms.Select(a => a.Arm))}");
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, path, 1100, 560);
    }

    private static Color GroupColor(string g) => g switch { "Head" => Colors.SteelBlue, "Middle" => Colors.Gray, _ => Colors.DarkOrange };

    private static void Legend(Plot plot)
    {
        foreach (var g in new[] { "Head", "Middle", "Tail" }) plot.Legend.ManualItems.Add(new LegendItem { LabelText = g, FillColor = GroupColor(g) });
        plot.ShowLegend(Alignment.UpperLeft);
    }

    private static void Save(Plot plot, string path, int width, int height)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + ".tmp.png";
        plot.SavePng(tmp, width, height);
        File.Move(tmp, full, overwrite: true);
    }
}
