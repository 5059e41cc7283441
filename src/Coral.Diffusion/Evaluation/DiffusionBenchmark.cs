using System.Diagnostics;
using Coral.Diffusion.Contrastive;
using Coral.Diffusion.Networks;
using Coral.Diffusion.Sampling;
using Coral.Diffusion.Training;
using Coral.Ml.Evaluation;
using static TorchSharp.torch;

namespace Coral.Diffusion.Evaluation;

public sealed record DiffusionBenchOptions
{
    /// <summary>Timed training steps per arm (the arms alternate step by step).</summary>
    public int Steps { get; init; } = 20;
    public int BatchSize { get; init; } = 64;
    public int SampleBatch { get; init; } = 64;
    public int SamplingSteps { get; init; } = 50;
    public double GuidanceScale { get; init; } = SamplerCore.ShippedGuidanceScale;
}

/// <summary>What <see cref="DiffusionBenchmark.Run"/> measured, all in one run on the same machine state.</summary>
public sealed record DiffusionBenchResult
{
    public string Shape { get; init; } = "";
    public int BatchSize { get; init; }
    public double PlainStepMs { get; init; }
    public double CoralStepMs { get; init; }
    /// <summary>CORAL / plain median step time (target ≤ 1.05).</summary>
    public double StepRatio { get; init; }
    public int SampleBatch { get; init; }
    public int SamplingSteps { get; init; }
    public double GuidanceScale { get; init; }
    public double ImagesPerSecond { get; init; }
    public double ForwardGflopsPerImage { get; init; }
    public double AchievedGflops { get; init; }
    public double MatmulGflops { get; init; }
    public double FractionOfMatmul { get; init; }
    public int Threads { get; init; }
}

/// <summary>
/// `coral bench diffusion`: CORAL vs plain training-step time on the network of a model (or a config), steps
/// interleaved so both arms see the same noisy machine, medians; then DDIM sampling images/s and its share of the
/// 1024² matmul roof measured in the same run.
/// </summary>
public static class DiffusionBenchmark
{
    public const double StepRatioTarget = 1.05;

    public static DiffusionBenchResult Run(DiffusionModel model, DiffusionBenchOptions o, Action<string>? log = null)
    {
        if (o.Steps < 3) throw new DiffusionInputException("--steps", $"need at least 3 timed steps, got {o.Steps}");
        var net = model.Network.Config;
        manual_seed(0);
        using var images = rand(512, net.ImageChannels, net.Resolution, net.Resolution) * 2 - 1;
        var labels = Enumerable.Range(0, 512).Select(i => i % net.NumClasses).ToArray();
        string tmp = Directory.CreateTempSubdirectory("coral-bench-").FullName;
        try
        {
            TrainOptions Opts(bool coral) => new() { BatchSize = o.BatchSize, Network = net, Coral = new CoralOptions { Enabled = coral } };
            using var plain = new DiffusionTrainer(Opts(false), images, labels, Path.Combine(tmp, "plain"));
            using var coral = new DiffusionTrainer(Opts(true), images, labels, Path.Combine(tmp, "coral"));
            for (int w = 0; w < 2; w++) { plain.TrainStep(w); coral.TrainStep(w); }
            var tp = new List<double>();
            var tc = new List<double>();
            for (int s = 0; s < o.Steps; s++)
            {
                var sw = Stopwatch.StartNew(); plain.TrainStep(100 + s); tp.Add(sw.Elapsed.TotalMilliseconds);
                sw.Restart(); coral.TrainStep(100 + s); tc.Add(sw.Elapsed.TotalMilliseconds);
            }
            double mp = Median(tp), mc = Median(tc);
            log?.Invoke($"train step: plain {mp:F0} ms, CORAL {mc:F0} ms (medians of {o.Steps})");

            var sl = Enumerable.Range(0, o.SampleBatch).Select(i => i % model.NumClasses).ToArray();
            // The roof is measured right before and right after sampling and the higher kept: on a shared machine a
            // single measurement can catch a busier moment than the run it is the yardstick for.
            double roofBefore = ScoreBenchmark.MatmulGflops();
            var clock = Stopwatch.StartNew();
            using (DdimSampler.Sample(model, sl, o.SamplingSteps, 0, o.GuidanceScale, 0, batchSize: o.SampleBatch)) { }
            double ips = o.SampleBatch / clock.Elapsed.TotalSeconds;
            double roof = Math.Max(roofBefore, ScoreBenchmark.MatmulGflops());
            double perImage = UNetCost.ForwardFlops(net) / 1e9;
            // Classifier-free guidance runs the conditional and the null-label branch: two passes per step.
            double passes = o.SamplingSteps * (o.GuidanceScale == 0 ? 1 : 2);
            double achieved = ips * passes * perImage;
            log?.Invoke($"DDIM {o.SamplingSteps} steps: {ips:F2} images/s, {achieved:F2} GFLOP/s of a {roof:F1} GFLOP/s matmul roof");
            return new DiffusionBenchResult
            {
                Shape = $"{net.ImageChannels}x{net.Resolution}x{net.Resolution}", BatchSize = o.BatchSize,
                PlainStepMs = mp, CoralStepMs = mc, StepRatio = mc / mp,
                SampleBatch = o.SampleBatch, SamplingSteps = o.SamplingSteps, GuidanceScale = o.GuidanceScale, ImagesPerSecond = ips,
                ForwardGflopsPerImage = perImage, AchievedGflops = achieved, MatmulGflops = roof, FractionOfMatmul = achieved / roof,
                Threads = get_num_threads(),
            };
        }
        finally { Directory.Delete(tmp, true); }
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
