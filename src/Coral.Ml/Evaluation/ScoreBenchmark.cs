using Coral.Ml.Common;
using System.Diagnostics;
using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Scoring;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Evaluation;

public sealed record BenchRow(string Mode, int BatchSize, int Images, double ImagesPerSecond, double MflopPerImage, double AchievedGflops, double FractionOfMatmul,
    string Runtime = "torchsharp", int Threads = 0);

public sealed record BenchReport
{
    public string Bundle { get; init; } = "";
    public int Members { get; init; }
    public int TorchThreads { get; init; }
    public int ProcessorCount { get; init; }
    public string LoadAverageAtStart { get; init; } = "";
    public double MatmulGflops { get; init; }
    /// <summary>Matmul roof at each thread count the runtime comparison used (fractions are against the roof at the row's threads).</summary>
    public IReadOnlyDictionary<int, double> MatmulGflopsByThreads { get; init; } = new Dictionary<int, double>();
    public IReadOnlyList<BenchRow> Rows { get; init; } = [];
    /// <summary>ONNX Runtime over TorchSharp images/s, all signals, largest batch, one thread each (target ≥ 4).</summary>
    public double? OnnxOverTorchOneThread { get; init; }
    /// <summary>ONNX Runtime's fraction of the matmul roof at the largest batch (best thread count; target ≥ 0.5).</summary>
    public double? OnnxFractionOfMatmul { get; init; }
    public bool? MeetsOnnxSpeedup { get; init; }
    public bool? MeetsOnnxFraction { get; init; }
    public long RssAfter2kBytes { get; init; }
    public long RssAfter20kBytes { get; init; }
    public double RssGrowth { get; init; }
    /// <summary>Highest RSS after 4k..20k images relative to after 2k (the leak criterion).</summary>
    public double RssPeakGrowth { get; init; }
    public IReadOnlyList<long> RssEvery2kBytes { get; init; } = [];
    public double TargetImagesPerSecondAt256 { get; init; } = 2000;
    public double TargetFractionOfMatmul { get; init; } = 0.30;
    public double TargetRssGrowth { get; init; } = 0.05;
    public bool MeetsImagesPerSecond { get; init; }
    public bool MeetsFractionOfMatmul { get; init; }
    public bool MeetsRss { get; init; }
    public string GitCommit { get; init; } = "";
    public string Command { get; init; } = "";
}

/// <summary>
/// `coral bench score`: images/s of the scorer at several batch sizes, the matmul roof measured in the same
/// process, the model's achieved GFLOP/s as a fraction of it, and resident memory after 2k vs 20k images.
/// A benchmark, never a unit test: the machine is shared and timings are noisy (best of several runs).
/// </summary>
public static class ScoreBenchmark
{
    public static BenchReport Run(ClassifierBundle bundle, IReadOnlyList<ImageTensor> images, string bundlePath, int[] batchSizes, Action<string>? log = null)
    {
        log ??= _ => { };
        TorchRuntime.EnsureLoaded();
        string load = MachineLoad.Line() ?? "n/a";
        double roof = MatmulGflops();
        log($"matmul 1024x1024 float32: {roof:F1} GFLOP/s");
        double headFlops = bundle.Head is { } h ? 2.0 * ((h.FeatureDim + h.NumClasses) * h.Hidden + h.Hidden) : 0;
        double one = bundle.Config.FlopsPerImage();
        var modes = new (string Name, ScorerOptions Options, double Flops)[]
        {
            ("all signals (K passes)", new ScorerOptions { IncludeEnsemble = true }, one * bundle.NumMembers + headFlops),
            ("one pass (no ensemble MI)", new ScorerOptions { IncludeEnsemble = false }, one + headFlops),
        };
        var rows = new List<BenchRow>();
        foreach (var (name, options, flops) in modes)
            foreach (int b in batchSizes)
            {
                var scorer = new ImageScorer(bundle, options with { BatchSize = b });
                int n = Math.Min(images.Count, b == 1 ? 400 : b < 64 ? 2000 : 5120);
                var subset = Take(images, n);
                scorer.Score(Take(images, Math.Min(n, b * 2))); // warm-up
                double best = double.MaxValue;
                for (int rep = 0; rep < 3; rep++)
                {
                    var clock = Stopwatch.StartNew();
                    scorer.Score(subset);
                    best = Math.Min(best, clock.Elapsed.TotalSeconds);
                }
                double ips = n / best;
                double achieved = ips * flops / 1e9;
                rows.Add(new BenchRow(name, b, n, ips, flops / 1e6, achieved, achieved / roof, "torchsharp", torch.get_num_threads()));
                log($"{name}, batch {b}: {ips:F0} images/s, {achieved:F2} GFLOP/s ({achieved / roof:P1} of matmul)");
            }

        // The same graph in both runtimes, one and two threads each, against the roof at that thread count.
        var runtimeRows = CompareRuntimes(bundle, images, batchSizes.Max(), modes[0].Flops, log, out var roofs);
        rows.AddRange(runtimeRows);
        double? Ips(string runtime, int threads) => runtimeRows.FirstOrDefault(r => r.Runtime == runtime && r.Threads == threads)?.ImagesPerSecond;
        double? speedup = Ips("onnxruntime", 1) / Ips("torchsharp", 1);
        double? onnxFraction = runtimeRows.Where(r => r.Runtime == "onnxruntime").Select(r => (double?)r.FractionOfMatmul).Max();

        var rss = RssSeries(bundle, images);
        long rss2k = rss[0], rss20k = rss[^1];
        // A leak shows as growth; RSS falling (allocator returning memory) is not one, so the target is on the peak.
        double peakGrowth = (double)(rss.Max() - rss2k) / rss2k;
        var at256 = rows.First(r => r.BatchSize == batchSizes.Max() && r.Mode == modes[0].Name);
        return new BenchReport
        {
            Bundle = bundlePath, Members = bundle.NumMembers, TorchThreads = torch.get_num_threads(), ProcessorCount = Environment.ProcessorCount,
            LoadAverageAtStart = load, MatmulGflops = roof, Rows = rows,
            RssAfter2kBytes = rss2k, RssAfter20kBytes = rss20k, RssGrowth = (double)(rss20k - rss2k) / rss2k,
            RssPeakGrowth = peakGrowth, RssEvery2kBytes = rss,
            MeetsImagesPerSecond = at256.ImagesPerSecond >= 2000, MeetsFractionOfMatmul = at256.FractionOfMatmul >= 0.30,
            MeetsRss = peakGrowth <= 0.05,
            MatmulGflopsByThreads = roofs, OnnxOverTorchOneThread = speedup, OnnxFractionOfMatmul = onnxFraction,
            MeetsOnnxSpeedup = speedup >= 4, MeetsOnnxFraction = onnxFraction >= 0.5,
        };
    }

    /// <summary>TorchSharp (all signals) and the exported ONNX graph at 1 and 2 threads, batch <paramref name="batch"/>, best of 3.</summary>
    private static List<BenchRow> CompareRuntimes(ClassifierBundle bundle, IReadOnlyList<ImageTensor> images, int batch, double flops, Action<string> log, out Dictionary<int, double> roofs)
    {
        var rows = new List<BenchRow>();
        roofs = [];
        int before = torch.get_num_threads();
        string onnxPath = Path.Combine(Path.GetTempPath(), $"coral-bench-{Environment.ProcessId}.onnx");
        Export.BundleOnnxExporter.Save(bundle, onnxPath, "bench");
        try
        {
            int n = Math.Min(images.Count, Math.Max(batch * 4, 1024));
            var subset = Take(images, n);
            foreach (int threads in new[] { 1, 2 })
            {
                torch.set_num_threads(threads);
                // The roof is the faster of the two runtimes' 1024² matmul at this thread count (MLAS can beat libtorch's).
                double torchRoof = MatmulGflops(), onnxRoof = Export.OnnxMatmulRoof.Gflops(threads);
                double roof = Math.Max(torchRoof, onnxRoof);
                roofs[threads] = roof;
                log($"{threads} thread(s): matmul roof {roof:F1} GFLOP/s (libtorch {torchRoof:F1}, ONNX Runtime {onnxRoof:F1})");
                var scorer = new ImageScorer(bundle, new ScorerOptions { BatchSize = batch, IncludeEnsemble = true });
                double torchIps = BestRate(() => scorer.Score(subset), n);
                using var onnx = Coral.Scoring.Onnx.OnnxScoringModel.Load(onnxPath, threads);
                double onnxIps = BestRate(() => { for (int s = 0; s < n; s += batch) onnx.Run(subset.Skip(s).Take(batch).ToList()); }, n);
                foreach (var (runtime, ips) in new[] { ("torchsharp", torchIps), ("onnxruntime", onnxIps) })
                {
                    double achieved = ips * flops / 1e9;
                    rows.Add(new BenchRow("all signals, one graph", batch, n, ips, flops / 1e6, achieved, achieved / roof, runtime, threads));
                    log($"{runtime}, {threads} thread(s), batch {batch}: {ips:F0} images/s, {achieved:F2} GFLOP/s ({achieved / roof:P1} of the {roof:F1} GFLOP/s matmul roof)");
                }
            }
        }
        finally
        {
            torch.set_num_threads(before);
            File.Delete(onnxPath);
        }
        return rows;
    }

    /// <summary>Images/s of the best of three timed runs after one warm-up.</summary>
    private static double BestRate(Action run, int images)
    {
        run();
        double best = double.MaxValue;
        for (int rep = 0; rep < 3; rep++)
        {
            var clock = Stopwatch.StartNew();
            run();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return images / best;
    }

    /// <summary>Resident set size after every 2,000 images up to 20,000 (default scorer, batch 256).</summary>
    private static long[] RssSeries(ClassifierBundle bundle, IReadOnlyList<ImageTensor> images)
    {
        var scorer = new ImageScorer(bundle, new ScorerOptions { BatchSize = 256 });
        var series = new List<long>();
        for (int scored = 0; scored < 20000; scored += 2000)
        {
            _ = scorer.Score(Take(images, 2000));
            series.Add(Rss());
        }
        return series.ToArray();
    }

    private static long Rss()
    {
        // Collect managed garbage first so the figure tracks native (libtorch) memory and real leaks.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }

    private static IReadOnlyList<ImageTensor> Take(IReadOnlyList<ImageTensor> images, int n) =>
        Enumerable.Range(0, n).Select(i => images[i % images.Count]).ToArray();

    /// <summary>Best-of-3 GFLOP/s of a 1024×1024 float32 matmul: the practical compute roof of this machine.</summary>
    public static double MatmulGflops(int n = 1024, int reps = 10)
    {
        using var scope = NewDisposeScope();
        using var mode = torch.inference_mode();
        var a = randn(n, n);
        var b = randn(n, n);
        for (int i = 0; i < 2; i++) using (NewDisposeScope()) a.matmul(b);
        double best = double.MaxValue;
        for (int rep = 0; rep < 3; rep++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) using (NewDisposeScope()) a.matmul(b);
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n * reps / best / 1e9;
    }
}
