using Coral.Ml.Common;
using ScottPlot;

namespace Coral.Cli.Commands;

/// <summary>The plots of `coral bench pipeline`: throughput against the storage roof, and upload→score latency.</summary>
public static class BenchPipelinePlots
{
    /// <summary>One bar group per run size: the storage roof, the backlog's and the burst's blobs/s, with the 60 % target as a mark.</summary>
    public static void Throughput(IReadOnlyList<(int Inputs, double Roof, double? Backlog, double? Burst)> runs, double targetFraction, string path)
    {
        var plot = new Plot();
        var series = new (string Label, Color Color)[] { ("storage roof (GET + PUT pairs/s)", Colors.Gray), ("backlog", Colors.SteelBlue), ("burst", Colors.DarkOrange) };
        var bars = new List<Bar>();
        for (int i = 0; i < runs.Count; i++)
        {
            double?[] values = [runs[i].Roof, runs[i].Backlog, runs[i].Burst];
            for (int k = 0; k < values.Length; k++)
                if (values[k] is { } v)
                    bars.Add(new Bar { Position = i * 4 + k, Value = v, FillColor = series[k].Color, Label = v.ToString("F0") });
            var target = plot.Add.Line(i * 4 - 0.5, targetFraction * runs[i].Roof, i * 4 + 2.5, targetFraction * runs[i].Roof);
            target.LinePattern = LinePattern.Dashed;
            target.Color = Colors.Black;
        }
        plot.Add.Bars(bars).ValueLabelStyle.FontSize = 11;
        plot.Axes.Bottom.SetTicks([.. runs.Select((_, i) => i * 4 + 1.0)], [.. runs.Select(r => $"{r.Inputs} inputs")]);
        plot.Axes.Left.Label.Text = "blobs per second";
        plot.Axes.SetLimitsY(0, runs.Max(r => r.Roof) * 1.2);
        plot.Title($"Score-only throughput against the storage roof (dashed: {targetFraction:P0} of it)");
        foreach (var (label, color) in series) plot.Legend.ManualItems.Add(new LegendItem { LabelText = label, FillColor = color });
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, path, 900, 520);
    }

    /// <summary>Cumulative share of inputs scored within t seconds of their upload, one line per run and arrival.</summary>
    public static void Latency(IReadOnlyList<(string Label, IReadOnlyList<TimeSpan> Sorted)> lines, double targetSeconds, string path)
    {
        var plot = new Plot();
        foreach (var (label, sorted) in lines.Where(l => l.Sorted.Count > 0))
        {
            double[] xs = [.. sorted.Select(t => t.TotalSeconds)];
            double[] ys = [.. Enumerable.Range(1, sorted.Count).Select(k => 100.0 * k / sorted.Count)];
            var line = plot.Add.ScatterLine(xs, ys);
            line.LegendText = label;
            line.LineWidth = 2;
        }
        var target = plot.Add.VerticalLine(targetSeconds);
        target.LinePattern = LinePattern.Dashed;
        target.Color = Colors.Black;
        var p95 = plot.Add.HorizontalLine(95);
        p95.LinePattern = LinePattern.Dotted;
        p95.Color = Colors.Gray;
        plot.Axes.Bottom.Label.Text = "upload → score record (s)";
        plot.Axes.Left.Label.Text = "% of inputs";
        plot.Axes.SetLimitsY(0, 101);
        plot.Title($"Upload→score latency (dashed: the {targetSeconds:G2} s p95 target at a steady rate; dotted: 95 %)");
        plot.ShowLegend(Alignment.LowerRight);
        Save(plot, path, 900, 520);
    }

    private static void Save(Plot plot, string path, int width, int height)
    {
        var png = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
