using System.Diagnostics;
using System.Text.Json;
using Coral.Data;
using Coral.Diffusion.Sampling;
using Coral.Diffusion.Training;
using Coral.Imaging;
using Coral.Ml.Classification;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Evaluation;

/// <summary>How samples are drawn for evaluation.</summary>
public sealed record GenerationEvalOptions
{
    public int SamplesPerClass { get; init; } = 50;
    public int Steps { get; init; } = 25;
    public double Eta { get; init; }
    public double GuidanceScale { get; init; } = SamplerCore.ShippedGuidanceScale;
    public int Seed { get; init; }
    public int BatchSize { get; init; } = 100;
}

/// <summary>
/// Classifier-feature FID (overall, per class, head/middle/tail means) and class consistency of a model's samples,
/// judged by an independent classifier trained on the full balanced set. Model, judge and real test images share
/// the data's own shape (checked): nothing is resized on either side of a distance.
/// </summary>
public sealed class GenerationEvaluator(ClassifierBundle judge, LabeledImages realTest, string judgeName = "models/judge")
{
    private readonly Dictionary<int, (Tensor Features, int[] Labels, int[] Predicted)> realCache = [];
    // Judge features of each evaluated model's samples, kept (outside any dispose scope) for paired comparisons.
    private readonly Dictionary<string, Tensor> generatedFeatures = [];

    public GenerationReport Evaluate(DiffusionModel model, string name, GenerationEvalOptions o, string outDir, IProgress<string>? log = null)
    {
        if (o.SamplesPerClass < 2) throw new DiffusionInputException("samples-per-class", $"must be ≥ 2 for a covariance, got {o.SamplesPerClass}");
        if (model.NumClasses != judge.NumClasses) throw new DiffusionInputException("judge", $"has {judge.NumClasses} classes, the model {model.NumClasses}");
        CheckShapes(model);
        Directory.CreateDirectory(outDir);
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var samples01 = LoadOrSample(model, o, outDir, log);
        double sampleSeconds = clock.Elapsed.TotalSeconds;
        int k = model.NumClasses, n = o.SamplesPerClass;
        var genLabels = Enumerable.Range(0, k).SelectMany(c => Enumerable.Repeat(c, n)).ToArray();

        var (genFeat, genPred) = Judge(samples01);
        if (generatedFeatures.Remove(name, out var stale)) stale.Dispose();
        generatedFeatures[name] = genFeat.detach().clone().DetachFromDisposeScope();
        var (realFeat, realLabels, realPred) = RealFeatures(model.Resolution);
        var fidPerClass = new double[k];
        var consPerClass = new double[k];
        var realConsPerClass = new double[k];
        for (int c = 0; c < k; c++)
        {
            using var s = NewDisposeScope();
            var g = genFeat[(c * n)..((c + 1) * n)];
            var ridx = tensor(realLabels.Select((y, i) => (y, i)).Where(p => p.y == c).Select(p => (long)p.i).ToArray());
            fidPerClass[c] = FrechetDistance.Distance(g, realFeat.index_select(0, ridx));
            consPerClass[c] = genPred.Skip(c * n).Take(n).Count(p => p == c) / (double)n;
            realConsPerClass[c] = realLabels.Zip(realPred).Where(p => p.First == c).Average(p => p.Second == c ? 1.0 : 0.0);
        }
        double fidAll = FrechetDistance.Distance(genFeat, realFeat);
        var groups = GroupsOf(model);
        var groupNames = new[] { ClassGroup.Head, ClassGroup.Middle, ClassGroup.Tail };
        var report = new GenerationReport
        {
            Model = name,
            Arm = model.Card?.Training?.Coral.Enabled == true ? "CORAL" : "DDPM",
            Seed = model.Card?.Training?.Seed ?? 0,
            Judge = judgeName, SamplesPerClass = n, RealPerClass = realLabels.Length / k, Steps = o.Steps, Eta = o.Eta,
            GuidanceScale = o.GuidanceScale, SampleSeed = o.Seed, Resolution = model.Resolution, Channels = model.Channels,
            FidOverall = fidAll, ConsistencyOverall = consPerClass.Average(),
            FidPerClass = fidPerClass, ConsistencyPerClass = consPerClass,
            RealConsistencyPerClass = realConsPerClass, RealConsistencyOverall = realConsPerClass.Average(),
            ClassNames = [.. model.ClassNames], Groups = [.. groups.Select(g => g.ToString())],
            FidGroupMean = groupNames.ToDictionary(g => g.ToString(), g => Enumerable.Range(0, k).Where(c => groups[c] == g).Average(c => fidPerClass[c])),
            ConsistencyGroupMean = groupNames.ToDictionary(g => g.ToString(), g => Enumerable.Range(0, k).Where(c => groups[c] == g).Average(c => consPerClass[c])),
            SampleSeconds = sampleSeconds,
        };
        WriteJson(Path.Combine(outDir, "report.json"), report);
        GenerationPlots.FidPerClass(report, Path.Combine(outDir, "fid-per-class.png"));
        SampleGrid.Write(samples01, k, n, Math.Min(10, n), Path.Combine(outDir, "samples-grid.png"));
        return report;
    }

    /// <summary>Training counts → head/middle/tail (from the model card; ρ=0.01 split by default).</summary>
    public static ClassGroup[] GroupsOf(DiffusionModel model)
    {
        if (model.Card?.Data is { } data && data.TryGetValue("countsPerClass", out var v))
        {
            int[]? counts = v switch
            {
                int[] a => a,
                JsonElement e when e.ValueKind == JsonValueKind.Array => [.. e.EnumerateArray().Select(x => x.GetInt32())],
                _ => null,
            };
            if (counts is { Length: > 0 } && counts.Length == model.NumClasses) return LongTailSplit.Groups(counts);
        }
        return LongTailSplit.Groups(LongTailSplit.ClassCounts(6000, 0.01, model.NumClasses));
    }

    /// <summary>Samples in [0, 1] at the model resolution, [K·n, C, R, R]; cached in outDir so a re-evaluation does not resample.</summary>
    private Tensor LoadOrSample(DiffusionModel model, GenerationEvalOptions o, string outDir, IProgress<string>? log)
    {
        string bin = Path.Combine(outDir, "samples.bin"), meta = Path.Combine(outDir, "samples.json");
        string key = JsonSerializer.Serialize(new { o.SamplesPerClass, o.Steps, o.Eta, o.GuidanceScale, o.Seed, model.Card?.WeightsSha256 });
        long count = (long)model.NumClasses * o.SamplesPerClass, per = (long)model.Channels * model.Resolution * model.Resolution;
        if (File.Exists(bin) && File.Exists(meta) && File.ReadAllText(meta) == key && new FileInfo(bin).Length == count * per * 4)
        {
            var bytes = File.ReadAllBytes(bin);
            var floats = new float[count * per];
            Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length);
            log?.Report($"reusing {count} cached samples in {bin}");
            return tensor(floats, [count, model.Channels, model.Resolution, model.Resolution]);
        }
        var labels = Enumerable.Range(0, model.NumClasses).SelectMany(c => Enumerable.Repeat(c, o.SamplesPerClass)).ToArray();
        log?.Report($"sampling {labels.Length} images (DDIM {o.Steps} steps, η={o.Eta}, ω={o.GuidanceScale})");
        using var x = DdimSampler.Sample(model, labels, o.Steps, o.Eta, o.GuidanceScale, o.Seed, batchSize: o.BatchSize);
        var x01 = ((x.clamp(-1, 1) + 1) / 2).contiguous();
        var data = x01.data<float>().ToArray();
        var raw = new byte[data.Length * 4];
        Buffer.BlockCopy(data, 0, raw, 0, raw.Length);
        File.WriteAllBytes(bin + ".tmp", raw);
        File.Move(bin + ".tmp", bin, overwrite: true);
        File.WriteAllText(meta, key);
        return x01;
    }

    /// <summary>Judge features and predicted classes for images in [0, 1] at any size.</summary>
    private (Tensor Features, int[] Predicted) Judge(Tensor x01)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var feats = new List<Tensor>();
        var preds = new List<long>();
        for (long s = 0; s < x01.shape[0]; s += 500)
        {
            using var inner = NewDisposeScope();
            var batch = x01[(int)s..(int)Math.Min(x01.shape[0], s + 500)];
            var f = judge.Features(batch);
            preds.AddRange(judge.Logits(batch).argmax(1).data<long>().ToArray());
            feats.Add(f.to(ScalarType.Float64).MoveToOuterDisposeScope());
        }
        return (cat(feats, 0).MoveToOuterDisposeScope(), [.. preds.Select(p => (int)p)]);
    }

    private (Tensor Features, int[] Labels, int[] Predicted) RealFeatures(int resolution)
    {
        if (realCache.TryGetValue(resolution, out var hit)) return hit;
        using var scope = NewDisposeScope();
        var x01 = (TrainingData.ToTensor(realTest, resolution) + 1) / 2;   // same size: a plain byte → [0, 1] conversion
        var (f, pred) = Judge(x01);
        // Kept for the evaluator's lifetime (several models share it): no dispose scope may own it.
        var entry = (f.DetachFromDisposeScope(), realTest.Labels, pred);
        realCache[resolution] = entry;
        return entry;
    }

    /// <summary>
    /// Ratio of tail-group FID (mean over tail classes, then over seeds) of arm <paramref name="a"/> over arm
    /// <paramref name="b"/>, with a paired bootstrap 95 % interval: each replicate resamples the real test images of every
    /// tail class and the sample indices, the same indices for both arms of a seed (same sampling seeds, so sample i of
    /// both arms starts from the same noise). It measures sampling noise, not the spread over training seeds.
    /// </summary>
    public PairedRatio TailFidRatio(IReadOnlyList<GenerationReport> a, IReadOnlyList<GenerationReport> b, int replicates = 500, int seed = 0)
    {
        var pairs = a.Join(b, r => r.Seed, r => r.Seed, (x, y) => (A: x, B: y)).ToArray();
        if (pairs.Length == 0) throw new DiffusionInputException("runs", "no seed is evaluated in both arms");
        var first = pairs[0].A;
        var tail = Enumerable.Range(0, first.Groups.Length).Where(c => first.Groups[c] == nameof(ClassGroup.Tail)).ToArray();
        var (realFeat, realLabels, _) = realCache[first.Resolution];
        int n = first.SamplesPerClass;
        var realOf = tail.ToDictionary(c => c, c => realLabels.Select((y, i) => (y, i)).Where(p => p.y == c).Select(p => (long)p.i).ToArray());
        double Ratio(Func<int, long[]> realIdx, Func<int, long[]> genIdx)
        {
            using var scope = NewDisposeScope();
            double sa = 0, sb = 0;
            foreach (var (ra, rb) in pairs)
                foreach (var c in tail)
                {
                    var real = realFeat.index_select(0, tensor(realIdx(c)));
                    var g = tensor(genIdx(c).Select(i => c * n + i).ToArray());
                    sa += FrechetDistance.Distance(generatedFeatures[ra.Model].index_select(0, g), real);
                    sb += FrechetDistance.Distance(generatedFeatures[rb.Model].index_select(0, g), real);
                }
            return sa / sb;
        }
        double point = pairs.Average(p => p.A.FidGroupMean["Tail"]) / pairs.Average(p => p.B.FidGroupMean["Tail"]);
        var rng = new SplitMix64((ulong)seed + 1);
        long[] Draw(int count, Func<int, long> pick) => [.. Enumerable.Range(0, count).Select(pick)];
        var reps = new double[replicates];
        for (int r = 0; r < replicates; r++)
        {
            var realDraw = tail.ToDictionary(c => c, c => Draw(realOf[c].Length, _ => realOf[c][rng.NextInt(realOf[c].Length)]));
            var genDraw = tail.ToDictionary(c => c, c => Draw(n, _ => rng.NextInt(n)));
            reps[r] = Ratio(c => realDraw[c], c => genDraw[c]);
        }
        Array.Sort(reps);
        return new PairedRatio(point, reps[(int)(0.025 * (replicates - 1))], reps[(int)Math.Ceiling(0.975 * (replicates - 1))], replicates, pairs.Length,
            [.. pairs.Select(p => p.A.FidGroupMean["Tail"] / p.B.FidGroupMean["Tail"])]);
    }

    /// <summary>Model, judge and real test images must share one shape: no resize on either side of a distance.</summary>
    private void CheckShapes(DiffusionModel model)
    {
        var (c, h, w) = judge.InputShape;
        string m = $"{model.Channels}x{model.Resolution}x{model.Resolution}";
        if (model.Channels != c || model.Resolution != h || model.Resolution != w)
            throw new DiffusionInputException("judge", $"takes {c}x{h}x{w} images, the diffusion model makes {m}");
        if (realTest.Channels != c || realTest.Height != h || realTest.Width != w)
            throw new DiffusionInputException("data", $"test images are {realTest.Channels}x{realTest.Height}x{realTest.Width}, the model makes {m}");
    }

    public static void WriteJson<T>(string path, T value)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(value, DiffusionModelCard.Json));
        File.Move(tmp, path, overwrite: true);
    }
}
