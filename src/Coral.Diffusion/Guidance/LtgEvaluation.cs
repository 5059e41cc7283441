using Coral.Ml.Evaluation;
using System.Globalization;
using Coral.Data;
using Coral.Diffusion.Training;
using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Diffusion.Guidance;

/// <summary>What `coral eval ltg` runs; the CLI fills it from its options.</summary>
public sealed record LtgEvaluationOptions
{
    public required LtgOptions Ltg { get; init; }
    /// <summary>w values of the sweep, ascending, <see cref="LtgOptions.Weight"/> among them.</summary>
    public required IReadOnlyList<double> Weights { get; init; }
    /// <summary>Classes to generate (default: the guide's tail classes, <see cref="LtgEvaluation.TailClasses"/>).</summary>
    public required int[] Classes { get; init; }
    /// <summary>(a) the w-sweep of the mean longtail signal (must rise with w; plotted).</summary>
    public bool Sweep { get; init; } = true;
    /// <summary>(b) class consistency at the default w judged by an independent classifier.</summary>
    public bool Consistency { get; init; } = true;
    /// <summary>(c) fine-tuning with N LTG vs N unguided vs no extra images per tail class, over seeds.</summary>
    public bool Retraining { get; init; } = true;
    public int ImagesPerClass { get; init; } = 8;
    /// <summary>0: start from noise; m &gt; 0: SDEdit from m held-out real images per class (outside the LT split, never test images).</summary>
    public int SourcesPerClass { get; init; }
    public long Seed { get; init; }
    /// <summary>Which draw of held-out source images (0 = the reported one).</summary>
    public int SourceDraw { get; init; }
    public int RetrainImagesPerClass { get; init; } = 16;
    /// <summary>(c): real field images per tail class that a reviewer labelled; every arm but "none" trains on them.</summary>
    public int RetrainSourcesPerClass { get; init; } = 8;
    public int RetrainSeeds { get; init; } = 3;
    /// <summary>(c): also fine-tune every arm that adds images with the logit-adjusted loss (arms "…+la"), on the same images.</summary>
    public bool RetrainLogitAdjustedTwins { get; init; }
    /// <summary>(c): the arm the verdict compares against the best control: "ltg" or, with the twins, "ltg+la" (chosen on the tuning draw).</summary>
    public string VerdictArm { get; init; } = "ltg";
    /// <summary>(c): the arms to run (names from <see cref="LtgEvaluation.Arms"/> and <see cref="LtgEvaluation.ReferenceArms"/>); null: every arm of <see cref="LtgEvaluation.Arms"/>.</summary>
    public IReadOnlyList<string>? RetrainArms { get; init; }
    public required FineTuning.Options FineTune { get; init; }
    /// <summary>The data the guide was trained on (its card says how it was split).</summary>
    public required DataOptions Data { get; init; }
    public required string OutputDirectory { get; init; }
    /// <summary>Model resolution (source images are resized to it).</summary>
    public required int Resolution { get; init; }
    public string? JudgePath { get; init; }
    public string? DiffusionPath { get; init; }
    public string? ClassifierPath { get; init; }
}

/// <summary>
/// The Longtail Guidance experiments behind `coral eval ltg` (beside <see cref="FineTuning"/>): (a) w-sweep, (b) class
/// consistency judged by an independent classifier, (c) retraining. Writes sample grids and the sweep plot into the output
/// folder and returns the report; <paramref name="sample"/> runs one request (the CLI shows its progress), <paramref name="say"/>
/// gets one line per finding.
/// </summary>
public static partial class LtgEvaluation
{
    public static Dictionary<string, object?> Run(LongtailGenerator gen, ClassifierBundle guide, ClassifierBundle? judge, LtgEvaluationOptions o,
        Func<LtgRequest, string, LtgBatch> sample, Action<string> say, CancellationToken ct)
    {
        var options = o.Ltg;
        var ws = o.Weights;
        int[] cls = o.Classes;
        int[] tail = TailClasses(guide);
        string dir = o.OutputDirectory;
        Directory.CreateDirectory(dir);
        if (o.Consistency && judge is null) throw new DiffusionInputException("--judge", "part (b) needs the independent judge classifier");
        if (o.Retraining) ArmsOf(o); // a bad --retrain-arms fails before (a) and (b) spend their time
        var report = new Dictionary<string, object?>
        {
                            ["diffusion"] = o.DiffusionPath, ["classifier"] = o.ClassifierPath,
            ["options"] = options, ["classes"] = cls.Select(k => gen.ClassNames[k]).ToArray(),
            ["tailClasses"] = tail.Select(k => gen.ClassNames[k]).ToArray(), ["startedUtc"] = DateTime.UtcNow.ToString("O"),
        };
        long baseSeed = o.Seed;
        int perClass = o.ImagesPerClass;
        int sourceDraw = o.SourceDraw;
        if (sourceDraw < 0) throw new DiffusionInputException("--source-draw", $"must be ≥ 0, got {sourceDraw}");
        // The data is read only when a part needs real images (sources, the filter's recall, retraining).
        var real = new Lazy<(Dataset Data, LabeledImages MembersTrain, LabeledImages Unseen)>(() =>
        {
            var data = DataSource.Load(o.Data);
            if (!data.ClassNames.SequenceEqual(guide.ClassNames))
                throw new DiffusionInputException("--data", $"has classes [{string.Join(", ", data.ClassNames)}] but the classifier was trained on [{string.Join(", ", guide.ClassNames)}]");
            var (membersTrain, unseenImages) = ClassifierRecipe.Partition(data.Train, guide.Card);
            report["data"] = data.Description;
            return (data, membersTrain, unseenImages);
        });
        var sources = new SourcePool(() => real.Value.Unseen, o.Resolution, o.SourcesPerClass, sample);
        report["start"] = sources.Describe();
        report["sourceDraw"] = sourceDraw;

        // (a) + (b): the same seeds at every w, so the sweep compares paired samples.
        if (o.Sweep || o.Consistency)
        {
            var sweepWs = o.Sweep ? ws : [0, options.Weight];
            var rows = new List<SweepRow>();
            foreach (var w in sweepWs)
            {
                var images = new List<ImageTensor>();
                var records = new List<LtgImageRecord>();
                double seconds = 0;
                foreach (var k in cls)
                    foreach (var batch in sources.Generate(gen, k, perClass, options with { Weight = w }, baseSeed + 1000 * k, ct, $"w={w} {gen.ClassNames[k]}", sourceDraw))
                    {
                        images.AddRange(batch.Images); records.AddRange(batch.Records); seconds += batch.Seconds;
                    }
                double? judged = judge is null ? null : JudgeShare(judge, images, records, options.ConsistencyThreshold, out _);
                double? argmax = null, judgeOfPassed = null, judgeOfDropped = null;
                Dictionary<string, double>? perClassArgmax = null;
                if (judge is not null)
                {
                    var hits = JudgeArgmaxHits(judge, images, records);
                    argmax = hits.Count(h => h) / (double)hits.Length;
                    perClassArgmax = cls.ToDictionary(k => gen.ClassNames[k], k =>
                    {
                        var mine = Enumerable.Range(0, records.Count).Where(i => records[i].ClassIndex == k).ToArray();
                        return mine.Count(i => hits[i]) / (double)Math.Max(1, mine.Length);
                    });
                    var passed = Enumerable.Range(0, records.Count).Where(i => records[i].Consistent).ToArray();
                    judgeOfPassed = passed.Length == 0 ? null : passed.Count(i => hits[i]) / (double)passed.Length;
                    judgeOfDropped = passed.Length == records.Count ? null : (hits.Count(h => h) - passed.Count(i => hits[i])) / (double)(records.Count - passed.Length);
                }
                var (lo, hi) = argmax is double am ? Proportion.Wilson(am, records.Count) : (double.NaN, double.NaN);
                var row = new SweepRow(w, records.Average(r => r.SignalAfter), Std(records.Select(r => r.SignalAfter)),
                    records.Count(r => r.Consistent) / (double)records.Count, judged, argmax,
                    records.Count, seconds)
                {
                    JudgeArgmaxCi95 = argmax is null ? null : [lo, hi],
                    JudgeConsistentCi95 = judged is double jc ? [Proportion.Wilson(jc, records.Count).Low, Proportion.Wilson(jc, records.Count).High] : null,
                    JudgeArgmaxPerClass = perClassArgmax,
                    HeldOut = HeldOutRise.Of(records),
                    JudgeArgmaxOfPassed = judgeOfPassed, JudgeArgmaxOfDropped = judgeOfDropped,
                };
                rows.Add(row);
                say($"w={w:G3}: mean signal {row.MeanSignal:G4} ± {row.StdSignal:G3}, filter passes {row.GuideConsistent:P0}" +
                    (judgeOfPassed is double jp ? $" (judge argmax of passed {jp:P1}, of dropped {judgeOfDropped:P1})" : "") +
                    (row.JudgeConsistent is double j ? $", judge-consistent {j:P1} (argmax {row.JudgeArgmax:P1}, 95% CI {lo:P1}–{hi:P1})" : "") +
                    (row.HeldOut is { } ho ? $", held-out {ho.Signal} {ho.MeanGuided:G4} vs {ho.MeanUnguided:G4} unguided (+{ho.RiseSd:F2} SD, 95% CI {ho.RiseSdCi95[0]:F2}–{ho.RiseSdCi95[1]:F2})" : "") + $" [{seconds:F0} s]");
                string tag = w.ToString("G3", CultureInfo.InvariantCulture);
                SaveGrid(images, Path.Combine(dir, $"samples-w{tag}.png"), perClass);
                // Every image's record with the judge's verdict beside it: the filter and ranking can be studied offline.
                var judgeHits = judge is null ? null : JudgeArgmaxHits(judge, images, records);
                AtomicFile.WriteAllText(Path.Combine(dir, $"records-w{tag}.jsonl"), string.Join('\n', records.Select((r, i) =>
                    System.Text.Json.JsonSerializer.Serialize(new { record = r, judgeArgmaxHit = judgeHits?[i] }))) + "\n");
            }
            bool monotonic = rows.Zip(rows.Skip(1)).All(p => p.Second.MeanSignal >= p.First.MeanSignal);
            if (o.Sweep)
            {
                report["sweep"] = rows;
                report["sweepMonotonic"] = monotonic;
                Plot(rows, options.GuidingSignalName, Path.Combine(dir, "ltg-sweep.png"));
                say($"(a) mean signal {(monotonic ? "rises monotonically" : "is not monotonic")} in w; plot → {Path.Combine(dir, "ltg-sweep.png")}");
            }
            if (o.Consistency)
            {
                var atDefault = rows.First(r => r.Weight == options.Weight);
                var atZero = rows.First(r => r.Weight == 0);
                // The ceiling: the judge on the source images themselves (same 16 px round trip), i.e. a generator that changed nothing.
                double? sourceCeiling = null;
                if (sources.FromImages)
                {
                    var srcImages = new List<ImageTensor>();
                    var srcRecords = new List<int>();
                    foreach (var k in cls)
                    {
                        var imgs = sources.SourceImages(k, perClass, sourceDraw);
                        srcImages.AddRange(imgs); srcRecords.AddRange(Enumerable.Repeat(k, imgs.Count));
                    }
                    sourceCeiling = JudgeArgmaxHits(judge!, srcImages, srcRecords).Count(h => h) / (double)srcImages.Count;
                    report["sourceJudgeArgmax"] = new { images = srcImages.Count, share = sourceCeiling };
                    say($"(b) judge on the {srcImages.Count} source images themselves (16 px): {sourceCeiling:P1}");
                }
                if (options.Filter == CandidateFilter.DiffusionModel)
                {
                    // How often the filter would drop a real image of the class: its recall on images no guide member trained on
                    // (argmin and the class's calibrated margin, as for candidates).
                    var recall = cls.ToDictionary(k => gen.ClassNames[k], k =>
                    {
                        double? minMargin = gen.MarginThreshold(k, options);
                        var unseen = real.Value.Unseen;
                        var idx = SourcePool.Draw(unseen, k, 32, 999);
                        using var scope = NewDisposeScope();
                        var x = TrainingData.ToTensor(unseen.Subset(idx), o.Resolution);
                        var v = ImplicitClassifier.Judge(gen.Model, x, [.. Enumerable.Repeat(k, idx.Length)], [.. idx.Select(i => (long)i)],
                            ImplicitClassifier.Timesteps(gen.Model.Diffusion.Timesteps, options.ImplicitFractions));
                        return v.Count(d => d.Passes(k, minMargin)) / (double)idx.Length;
                    });
                    report["filterRecallOnRealImages"] = recall;
                    say($"(b) the diffusion-model filter passes real images of their class: {string.Join(", ", recall.Select(kv => $"{kv.Key} {kv.Value:P0}"))} (32 unseen images each)");
                }
                report["consistency"] = new { weight = options.Weight, judge = o.JudgePath, judgeConsistent = atDefault.JudgeConsistent,
                    judgeArgmax = atDefault.JudgeArgmax, judgeArgmaxCi95 = atDefault.JudgeArgmaxCi95, judgeConsistentCi95 = atDefault.JudgeConsistentCi95,
                    unguidedJudgeConsistent = atZero.JudgeConsistent, unguidedJudgeArgmax = atZero.JudgeArgmax, unguidedJudgeArgmaxCi95 = atZero.JudgeArgmaxCi95,
                    sourceJudgeArgmax = sourceCeiling, images = atDefault.Images, target = 0.9,
                    heldOut = atDefault.HeldOut, heldOutRiseTargetSd = HeldOutRise.TargetSd };
                say($"(b) judge class consistency at w={options.Weight}: {atDefault.JudgeArgmax:P1} (argmax, 95% CI {atDefault.JudgeArgmaxCi95![0]:P1}–{atDefault.JudgeArgmaxCi95[1]:P1}, n={atDefault.Images}), {atDefault.JudgeConsistent:P1} (p ≥ {options.ConsistencyThreshold}); unguided {atZero.JudgeArgmax:P1}; target ≥ 90%");
            }
        }

        if (o.Retraining)
            report["retraining"] = Retrain(gen, guide, tail, options, sources, real.Value.MembersTrain, real.Value.Unseen, real.Value.Data.Test, o, say, ct);
        report["finishedUtc"] = DateTime.UtcNow.ToString("O");
        return report;
    }

    /// <summary>One w of the sweep. <c>GuideConsistent</c> is the share the candidate filter (<see cref="LtgOptions.Filter"/>) places in class.</summary>
    public sealed record SweepRow(double Weight, double MeanSignal, double StdSignal, double GuideConsistent, double? JudgeConsistent, double? JudgeArgmax, int Images, double Seconds)
    {
        /// <summary>The judge's argmax consistency among the candidates the filter passes, and among those it drops: a useful filter separates them.</summary>
        public double? JudgeArgmaxOfPassed { get; init; }
        public double? JudgeArgmaxOfDropped { get; init; }
        public double[]? JudgeArgmaxCi95 { get; init; }
        public double[]? JudgeConsistentCi95 { get; init; }
        public Dictionary<string, double>? JudgeArgmaxPerClass { get; init; }
        /// <summary>The measure that was not optimised, guided against the same seeds unguided (null at w = 0).</summary>
        public HeldOutRise? HeldOut { get; init; }
    }

    /// <summary>
    /// How far guidance moved a measure it did not optimise: the mean paired difference (guided − same seed unguided) in
    /// units of the unguided spread, with a 95 % interval from the paired differences' standard error.
    /// </summary>
    public sealed record HeldOutRise(string Signal, double MeanGuided, double MeanUnguided, double UnguidedSd, double RiseSd, double[] RiseSdCi95, int Pairs)
    {
        public const double TargetSd = 1.0;

        public static HeldOutRise? Of(IReadOnlyList<LtgImageRecord> records)
        {
            var pairs = records.Where(r => r.HeldOutAfter is not null && r.HeldOutUnguided is not null).ToList();
            if (pairs.Count < 2) return null;
            var diff = pairs.Select(r => r.HeldOutAfter!.Value - r.HeldOutUnguided!.Value).ToArray();
            double sd = Std(pairs.Select(r => r.HeldOutUnguided!.Value));
            if (sd <= 0) return null;
            double mean = diff.Average(), se = Std(diff) / Math.Sqrt(diff.Length);
            return new HeldOutRise(pairs[0].HeldOutSignal!, pairs.Average(r => r.HeldOutAfter!.Value), pairs.Average(r => r.HeldOutUnguided!.Value), sd,
                mean / sd, [(mean - 1.96 * se) / sd, (mean + 1.96 * se) / sd], pairs.Count);
        }
    }


    /// <summary>
    /// Where generation starts: noise, or SDEdit from real "field" images of the class drawn from images none of the
    /// guide's members trained on (its held-out part and what the long-tailed split left out); the test set stays untouched.
    /// </summary>
    private sealed class SourcePool(Func<LabeledImages> poolSource, int resolution, int perClass, Func<LtgRequest, string, LtgBatch> sample)
    {
        private LabeledImages pool => poolSource();

        public object Describe() => perClass == 0 ? "noise" : $"SDEdit from {perClass} real image(s) per class per seed that no member of the guide trained on";

        public bool FromImages => perClass > 0;

        /// <summary>Indices into <paramref name="pool"/> of <paramref name="count"/> images of class k in draw <paramref name="draw"/> (fewer if the class has fewer).</summary>
        public static int[] Draw(LabeledImages pool, int k, int count, int draw)
        {
            var ofClass = Enumerable.Range(0, pool.Count).Where(i => pool.Labels[i] == k).ToArray();
            if (ofClass.Length == 0) throw new DiffusionInputException("--data", $"has no image of class {pool.ClassNames[k]} outside the classifier's training set to draw field images from");
            var order = Seeding.Permutation(ofClass.Length, Seeding.Derive(17, k, draw));
            return [.. order.Take(Math.Min(count, ofClass.Length)).Select(j => ofClass[j])];
        }

        /// <summary>The source images <see cref="Generate"/> uses for this class, count and draw, each repeated as often as it is used ([0, 1], model size).</summary>
        public List<ImageTensor> SourceImages(int k, int count, int draw)
        {
            var result = new List<ImageTensor>();
            foreach (var (src, c) in Plan(k, count, draw))
            {
                using var scope = NewDisposeScope();
                var x = Source(src).contiguous();
                var im = new ImageTensor(x.data<float>().ToArray(), (int)x.shape[1], (int)x.shape[2], (int)x.shape[3]);
                for (int r = 0; r < c; r++) result.Add(im);
            }
            return result;
        }

        /// <summary>Which pool images start the class's batch, and how many images each.</summary>
        private List<(int Source, int Count)> Plan(int k, int count, int draw)
        {
            var idx = Draw(pool, k, Math.Min(perClass, count), draw);
            return [.. idx.Select((src, j) => (src, count / idx.Length + (j < count % idx.Length ? 1 : 0)))];
        }

        private Tensor Source(int index) => (TrainingData.ToTensor(pool.Subset([index]), resolution) + 1) / 2;

        public IEnumerable<LtgBatch> Generate(LongtailGenerator gen, int k, int count, LtgOptions o, long seed, CancellationToken ct, string label, int draw = 0)
        {
            if (perClass == 0)
            {
                yield return sample(new LtgRequest { ClassIndex = k, Count = count, Options = o, Seed = seed }, label);
                yield break;
            }
            foreach (var ((src, c), j) in Plan(k, count, draw).Select((p, j) => (p, j)))
            {
                LtgBatch batch;
                // No dispose scope may stay open across a yield (the caller's tensors would land in it).
                using (var scope = NewDisposeScope())
                    batch = sample(new LtgRequest { Source = Source(src), SourceName = $"field image #{src}", ClassIndex = k, Count = c, Options = o, Seed = seed + 100 * j }, $"{label} src {j}");
                yield return batch;
            }
        }
    }

    /// <summary>The guide's tail classes, from its model card (groups, else its training counts).</summary>
    public static int[] TailClasses(ClassifierBundle guide) => guide.Card.TailClasses(guide.NumClasses) is { Length: > 0 } tail
        ? tail
        : throw new DiffusionInputException("--classifier", "its model card names no tail classes; pass --classes");

    private static List<ImageTensor> ToClassifierView(IImageDecoder decoder, IReadOnlyList<ImageTensor> images)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var x = decoder.Decode(Stack(images) * 2 - 1).contiguous();
        int c = (int)x.shape[1], h = (int)x.shape[2], w = (int)x.shape[3], per = c * h * w;
        var all = x.data<float>().ToArray();
        return [.. Enumerable.Range(0, images.Count).Select(i => new ImageTensor(all[(i * per)..((i + 1) * per)], c, h, w))];
    }

    private static Tensor Stack(IReadOnlyList<ImageTensor> images)
    {
        var first = images[0];
        int per = first.Length;
        var buf = new float[images.Count * per];
        for (int i = 0; i < images.Count; i++) images[i].Data.CopyTo(buf, i * per);
        return tensor(buf, [images.Count, first.Channels, first.Height, first.Width]);
    }

    /// <summary>Judge at its own input size: share with p(target) ≥ threshold.</summary>
    private static double JudgeShare(ClassifierBundle judge, IReadOnlyList<ImageTensor> images, IReadOnlyList<LtgImageRecord> records, double threshold, out ConsistencyVerdict[] verdicts)
    {
        using var scope = NewDisposeScope();
        var x = JudgeView(judge, images);
        var all = new List<ConsistencyVerdict>();
        foreach (var k in records.Select(r => r.ClassIndex).Distinct())
        {
            var idx = Enumerable.Range(0, records.Count).Where(i => records[i].ClassIndex == k).Select(i => (long)i).ToArray();
            all.AddRange(ClassConsistency.Judge(judge, x.index_select(0, tensor(idx)), k, threshold));
        }
        verdicts = [.. all];
        return all.Count(v => v.Consistent) / (double)all.Count;
    }

    /// <summary>Generated images as the judge sees them: [0, 1] at its input size (same pixel decoder as the guide's).</summary>
    private static Tensor JudgeView(ClassifierBundle judge, IReadOnlyList<ImageTensor> images) =>
        new PixelDecoder(judge.Config.Height, judge.Config.Width).Decode(Stack(images) * 2 - 1);

    private static bool[] JudgeArgmaxHits(ClassifierBundle judge, IReadOnlyList<ImageTensor> images, IReadOnlyList<LtgImageRecord> records) =>
        JudgeArgmaxHits(judge, images, [.. records.Select(r => r.ClassIndex)]);

    private static bool[] JudgeArgmaxHits(ClassifierBundle judge, IReadOnlyList<ImageTensor> images, IReadOnlyList<int> targets)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var x = JudgeView(judge, images);
        var pred = judge.Logits(x).argmax(-1).data<long>().ToArray();
        return [.. Enumerable.Range(0, targets.Count).Select(i => pred[i] == targets[i])];
    }

    private static void SaveGrid(IReadOnlyList<ImageTensor> images, string path, int columns)
    {
        var grid = ImageGrid.Compose(images, Math.Max(1, columns));
        AtomicFile.Write(path, s => ImageCodec.EncodePng(grid, s));
    }

    private static void Plot(IReadOnlyList<SweepRow> rows, string signal, string path)
    {
        var plt = new ScottPlot.Plot();
        double[] xs = [.. rows.Select(r => r.Weight)], ys = [.. rows.Select(r => r.MeanSignal)];
        var sc = plt.Add.Scatter(xs, ys);
        sc.LegendText = $"mean {signal} of generated images";
        var eb = plt.Add.ErrorBar(xs, ys, [.. rows.Select(r => r.StdSignal / Math.Sqrt(r.Images))]);
        eb.Color = sc.Color;
        plt.Title("Longtail Guidance: signal vs guidance weight");
        plt.XLabel("guidance weight w");
        plt.YLabel($"{signal} (guiding classifier)");
        plt.ShowLegend();
        var png = plt.GetImageBytes(720, 450, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }

    private static double Std(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length < 2) return 0;
        double m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }
}
