using ScottPlot;

namespace Coral.Ml.Evaluation;

/// <summary>PNG plots for the signal evaluation (ScottPlot).</summary>
public static class SignalPlots
{
    /// <summary>Grouped bars: AUROC per signal for misclassified and tail-class detection, with the 0.5 chance line.</summary>
    public static void AurocBars(SignalEvalReport report, string path)
    {
        var plot = new Plot();
        var tasks = new (string Label, Func<SignalScore, double> Value, Color Color)[]
        {
            ("misclassified", s => s.AurocMisclassified, Colors.SteelBlue),
            ("tail class", s => s.AurocTail, Colors.DarkOrange),
        };
        var bars = new List<Bar>();
        for (int i = 0; i < report.Signals.Count; i++)
            for (int t = 0; t < tasks.Length; t++)
            {
                double v = tasks[t].Value(report.Signals[i]);
                bars.Add(new Bar { Position = i * 3 + t, Value = v, FillColor = tasks[t].Color, Label = v.ToString("F3") });
            }
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 11;
        plot.Axes.Bottom.SetTicks(report.Signals.Select((_, i) => i * 3 + 0.5).ToArray(), report.Signals.Select(s => s.Signal).ToArray());
        var chance = plot.Add.HorizontalLine(0.5);
        chance.LinePattern = LinePattern.Dashed;
        chance.Color = Colors.Gray;
        plot.Axes.SetLimitsY(0.4, 1.0);
        plot.Axes.Left.Label.Text = "AUROC";
        plot.Title($"Longtail signals on {report.Dataset} (accuracy {report.Accuracy:P1}, K={report.Members})");
        foreach (var t in tasks) plot.Legend.ManualItems.Add(new LegendItem { LabelText = t.Label, FillColor = t.Color });
        plot.ShowLegend(Alignment.UpperRight);
        SaveAtomically(plot, path, 900, 520);
    }

    private static void SaveAtomically(Plot plot, string path, int width, int height)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileNameWithoutExtension(full)}.{Guid.NewGuid():N}.png");
        try
        {
            plot.SavePng(tmp, width, height);
            File.Move(tmp, full, overwrite: true);
        }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
    }
}
