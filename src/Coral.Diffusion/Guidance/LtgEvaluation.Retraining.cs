using Coral.Data;
using Coral.Diffusion.Training;
using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using static TorchSharp.torch;

namespace Coral.Diffusion.Guidance;

/// <summary>
/// Part (c) of `coral eval ltg`: fine-tuning the deployed classifier with the images of each arm (controls, LTG, and the
/// real-image references) over seeds, paired intervals against the best control, and the ledger that lets a run resume.
/// </summary>
public static partial class LtgEvaluation
{
    public sealed record ArmResult(string Arm, string What, double[] Tail, double[] Overall, double TailMean, double TailStd, double OverallMean, double OverallStd);

    /// <summary>A paired difference over seeds: mean, its 95 % t-interval, and the per-seed values.</summary>
    public sealed record PairedDelta(string Versus, double Mean, double[] Ci95, double[] PerSeed)
    {
        public static PairedDelta Of(string versus, IReadOnlyList<double> a, IReadOnlyList<double> b)
        {
            var d = a.Zip(b, (x, y) => x - y).ToArray();
            double m = d.Average(), half = d.Length > 1 ? StudentT975(d.Length - 1) * Std(d) / Math.Sqrt(d.Length) : double.NaN;
            return new PairedDelta(versus, m, [m - half, m + half], d);
        }
    }

    /// <summary>Two-sided 95 % quantile of Student's t (df ≥ 1; table to 30, then the normal).</summary>
    public static double StudentT975(int df)
    {
        double[] t = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
            2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042];
        return df < 1 ? double.NaN : df <= t.Length ? t[df - 1] : 1.96;
    }

    /// <summary>The arms of (c), in order. Every arm but "none" holds the reviewed sources; the four that add images add the same number.</summary>
    public static readonly (string Name, string What)[] Arms =
    [
        ("none", "no extra data"),
        ("sources", "the reviewed real field images only"),
        ("oversample", "sources + N copies of real tail images (sources and the training set), drawn with replacement"),
        ("logit-adjust", "sources, fine-tuned with the logit-adjusted loss CE(z + log π, y) (Menon et al. 2021, τ = 1; no extra images)"),
        ("augment", "sources + N classical augmentations of real tail images: " + ClassicalAugmentation.Describe()),
        ("unguided", "sources + N diffusion images, w = 0, same over-generation, filter and ranking as LTG"),
        ("ltg", "sources + N Longtail Guidance images at the evaluated settings"),
    ];

    /// <summary>
    /// Arms that are neither controls nor LTG: what the retraining would gain from images a generator cannot beat on
    /// average, N new real tail images a reviewer labelled. A ceiling for any generator that draws the class's own
    /// distribution, reported beside the verdict and never chosen as its best control (it costs labels, not compute).
    /// </summary>
    public static readonly (string Name, string What)[] ReferenceArms =
    [
        ("fresh-real", "sources + N new labelled real tail images (no member trained on them, disjoint from the sources): the ceiling for a generator; not a control"),
        ("hard-real", "sources + the N real tail images (no member trained on them, not sources) that the guiding signal ranks highest in the class: the ceiling for LTG, a generator that draws real images where the classifier is weak; not a control"),
    ];

    /// <summary>Suffix of an arm's twin fine-tuned with the logit-adjusted loss on the same images.</summary>
    public const string LogitAdjustedSuffix = "+la";

    /// <summary>The arms that add images; with <see cref="LtgEvaluationOptions.RetrainLogitAdjustedTwins"/> each gets a "+la" twin.</summary>
    private static readonly string[] ArmsThatAddImages = ["oversample", "augment", "unguided", "ltg", "fresh-real", "hard-real"];

    /// <summary>The arms <paramref name="o"/> runs: its <see cref="LtgEvaluationOptions.RetrainArms"/> (default <see cref="Arms"/>) in table order, then the logit-adjusted twins if asked for.</summary>
    public static (string Name, string What)[] ArmsOf(LtgEvaluationOptions o)
    {
        (string Name, string What)[] known = [.. Arms, .. ReferenceArms];
        if (o.RetrainArms is { } asked)
        {
            if (asked.Count == 0) throw new DiffusionInputException("--retrain-arms", "lists no arm");
            if (asked.FirstOrDefault(a => !known.Any(k => k.Name == a)) is { } unknown)
                throw new DiffusionInputException("--retrain-arms", $"'{unknown}' is not an arm ({string.Join(", ", known.Select(k => k.Name))}; the '+la' twins come with --retrain-la-twins)");
        }
        var basic = known.Where(a => o.RetrainArms?.Contains(a.Name) ?? Arms.Contains(a)).ToArray();
        return o.RetrainLogitAdjustedTwins
            ? [.. basic, .. basic.Where(a => ArmsThatAddImages.Contains(a.Name)).Select(a => (a.Name + LogitAdjustedSuffix, $"the images of '{a.Name}', fine-tuned with the logit-adjusted loss (τ = 1; π counts them)"))]
            : basic;
    }

    /// <summary>The arms the LTG images are in; none of them is a control.</summary>
    private static bool IsLtgArm(string arm) => arm is "ltg" or "ltg" + LogitAdjustedSuffix;

    /// <summary>A reference arm or its twin: reported, never a control.</summary>
    private static bool IsReferenceArm(string arm) => ReferenceArms.Any(r => arm == r.Name || arm == r.Name + LogitAdjustedSuffix);

    private static object Retrain(LongtailGenerator gen, ClassifierBundle guide, int[] tail, LtgOptions options, SourcePool sources,
        LabeledImages train, LabeledImages unseen, LabeledImages test, LtgEvaluationOptions o, Action<string> say, CancellationToken ct)
    {
        int n = o.RetrainImagesPerClass, m = o.RetrainSourcesPerClass, seeds = o.RetrainSeeds;
        var ft = o.FineTune;
        if (seeds < 2) throw new DiffusionInputException("--retrain-seeds", $"paired intervals need at least 2 seeds, got {seeds}");
        var arms = ArmsOf(o);
        // Without any LTG arm (a run of controls and references only) there is no verdict; with one, it must be the verdict's.
        bool verdict = arms.Any(a => IsLtgArm(a.Name));
        if (verdict && (!arms.Any(a => a.Name == o.VerdictArm) || !IsLtgArm(o.VerdictArm)))
            throw new DiffusionInputException("--verdict-arm", $"'{o.VerdictArm}' is not an LTG arm of this run ({string.Join(", ", arms.Where(a => IsLtgArm(a.Name)).Select(a => a.Name))})");
        var baseScore = FineTuning.Evaluate(guide.Members[0], test, tail);
        say($"(c) members' training set {train.Count} images; tail classes {string.Join(", ", tail.Select(k => gen.ClassNames[k]))}; " +
            $"{m} reviewed field images + {n} extra per tail class; deployed classifier: tail {baseScore.Tail:P1}, overall {baseScore.Overall:P1}");
        var tailAcc = arms.ToDictionary(a => a.Name, _ => new List<double>());
        var overallAcc = arms.ToDictionary(a => a.Name, _ => new List<double>());
        var perClassAcc = arms.ToDictionary(a => a.Name, _ => new List<double[]>());
        var genStats = new List<object>();
        void Record(string arm, double tailScore, double overall, double[] perClass)
        {
            tailAcc[arm].Add(tailScore); overallAcc[arm].Add(overall); perClassAcc[arm].Add(perClass);
        }
        // Everything a (seed, arm) result depends on; a finished one is read back instead of run again.
        var ledger = new RetrainLedger(Path.Combine(o.OutputDirectory, RetrainLedger.FileName), RetrainLedger.FingerprintOf(new
        {
            n, m, ft, o.SourceDraw, ltg = options, guide = ModelHash(o.ClassifierPath, ClassifierBundle.ResolveFile), diffusion = ModelHash(o.DiffusionPath, p => p),
            data = o.Data, train = train.Count, unseen = unseen.Count, test = test.Count, classes = train.ClassNames, tail,
        }));
        if (ledger.Count > 0) say($"(c) resuming: {ledger.Count} finished fine-tunes of these settings in {RetrainLedger.FileName}");
        for (int s = 0; s < seeds; s++)
        {
            // The reviewed field images of this seed: a draw from images no member trained on (never the test set).
            int draw = 1000 + s + 100 * o.SourceDraw;
            var srcIdx = tail.SelectMany(k => SourcePool.Draw(unseen, k, m, draw)).ToArray();
            var withSources = train.Concat(unseen.Subset(srcIdx));
            var realTail = Enumerable.Range(0, withSources.Count).Where(i => tail.Contains(withSources.Labels[i])).ToArray();
            var imagesOf = new Dictionary<string, (LabeledImages Images, object? Generation)>();
            foreach (var (arm, _) in arms)
            {
                ct.ThrowIfCancellationRequested();
                if (ledger.TryGet(s, arm, out var done))
                {
                    Record(arm, done.Tail, done.Overall, done.PerClass);
                    if (done.Generation is not null) genStats.Add(done.Generation);
                    say($"  seed {s} {arm}: tail {done.Tail:P2}, overall {done.Overall:P2} ({done.Added:+0;-0} images; from {RetrainLedger.FileName})");
                    continue;
                }
                bool twin = arm.EndsWith(LogitAdjustedSuffix, StringComparison.Ordinal);
                // A twin trains on exactly the images of its arm (made once, or again the same way if the arm came from the ledger).
                var (augmented, generation) = ImagesOf(twin ? arm[..^LogitAdjustedSuffix.Length] : arm);
                (LabeledImages, object?) ImagesOf(string a)
                {
                    if (imagesOf.TryGetValue(a, out var made)) return made;
                    object? stat = null;
                    var images = a switch
                    {
                        "none" => train,
                        "sources" or "logit-adjust" => withSources,
                        "oversample" => withSources.Concat(withSources.Subset(FineTuning.DrawPerClass(withSources, realTail, tail, n, Seeding.Derive(s, 5151)))),
                        "augment" => withSources.Concat(FineTuning.Augmented(withSources, FineTuning.DrawPerClass(withSources, realTail, tail, n, Seeding.Derive(s, 6161)), Seeding.Derive(s, 7171))),
                        // The same permutation as the sources, past them: new images, never a source.
                        "fresh-real" => withSources.Concat(unseen.Subset([.. tail.SelectMany(k => FreshReal(unseen, k, m, n, draw))])),
                        "hard-real" => withSources.Concat(unseen.Subset([.. tail.SelectMany(k => HardReal(gen, options, unseen, k, m, n, draw, ct))])),
                        _ => Generated(a, a == "ltg" ? options.Weight : 0, out stat),
                    };
                    return imagesOf[a] = (images, stat);
                }
                LabeledImages Generated(string a, double w, out object? stat)
                {
                    var images = new List<ImageTensor>();
                    var labels = new List<int>();
                    var records = new List<LtgImageRecord>();
                    foreach (var k in tail)
                        // Same seeds for both generated arms: LTG and unguided differ only by w.
                        foreach (var batch in sources.Generate(gen, k, n, options with { Weight = w, MeasureUnguided = false }, 7_000_000 + 10_000 * s + k, ct, $"seed {s} {a} {gen.ClassNames[k]}", draw))
                        {
                            images.AddRange(batch.Images); labels.AddRange(Enumerable.Repeat(k, batch.Images.Count)); records.AddRange(batch.Records);
                        }
                    // The unguided twin is off here (the sweep measures the held-out rise): it would double the sampling.
                    stat = new { seed = s, arm = a, meanSignal = records.Average(r => r.SignalAfter), consistent = records.Count(r => r.Consistent) / (double)records.Count,
                        meanHeldOut = records.Average(r => r.HeldOutAfter ?? double.NaN) };
                    // The classifier trains on what the guidance scored: the decoder's view (resized to its input size).
                    return FineTuning.Append(withSources, ToClassifierView(gen.Decoder, images), labels);
                }
                var stats = twin ? null : generation;
                if (stats is not null) genStats.Add(stats);
                using var model = FineTuning.FineTune(guide.Members[0], augmented, ft with { Seed = s, LogitAdjustment = twin || arm == "logit-adjust" ? 1 : 0 });
                var score = FineTuning.Evaluate(model, test, tail);
                Record(arm, score.Tail, score.Overall, score.PerClass);
                int added = augmented.Count - train.Count;
                ledger.Add(new RetrainLedger.Entry(ledger.Fingerprint, s, arm, score.Tail, score.Overall, score.PerClass, added,
                    stats is null ? null : System.Text.Json.JsonSerializer.SerializeToNode(stats)));
                say($"  seed {s} {arm}: tail {score.Tail:P2}, overall {score.Overall:P2} ({added:+0;-0} images)");
            }
        }
        var results = arms.Select(a => new ArmResult(a.Name, a.What, [.. tailAcc[a.Name]], [.. overallAcc[a.Name]], tailAcc[a.Name].Average(), Std(tailAcc[a.Name]),
            overallAcc[a.Name].Average(), Std(overallAcc[a.Name]))).ToArray();
        var controls = results.Where(r => !IsLtgArm(r.Arm) && !IsReferenceArm(r.Arm)).ToArray();
        if (controls.Length == 0) throw new DiffusionInputException("--retrain-arms", "lists no control arm to compare with");
        var best = controls.OrderByDescending(r => r.TailMean).First();
        PairedDelta? vsBest = null;
        PairedDelta[]? vsAll = null;
        if (verdict)
        {
            vsBest = PairedDelta.Of(best.Arm, tailAcc[o.VerdictArm], tailAcc[best.Arm]);
            vsAll = [.. controls.Select(c => PairedDelta.Of(c.Arm, tailAcc[o.VerdictArm], tailAcc[c.Arm]))];
            say($"(c) tail accuracy {o.VerdictArm} − best control ({best.Arm}) = {Pp(vsBest)}; target ≥ +2 pp");
        }
        // How much room a generator has: each reference arm against the best control.
        var referenceMinusBestControl = results.Where(r => IsReferenceArm(r.Arm)).ToDictionary(r => r.Arm, r => PairedDelta.Of(best.Arm, tailAcc[r.Arm], tailAcc[best.Arm]));
        foreach (var (arm, d) in referenceMinusBestControl) say($"(c) tail accuracy {arm} − best control ({best.Arm}) = {Pp(d)}");
        return new
        {
            n, sourcesPerClass = m, seeds, tailClasses = tail.Select(k => gen.ClassNames[k]).ToArray(), trainImages = train.Count, fineTune = ft,
            testImages = test.Count, deployed = baseScore, arms = results, verdictArm = verdict ? o.VerdictArm : null,
            perClassMean = arms.ToDictionary(a => a.Name, a => Enumerable.Range(0, test.NumClasses).Select(k => perClassAcc[a.Name].Average(p => p[k])).ToArray()),
            bestControl = best.Arm, ltgMinusBestControl = vsBest, ltgMinusEachControl = vsAll, referenceMinusBestControl, generation = genStats, targetPp = 2.0,
        };
    }

    /// <summary>n real images of class k past the m sources of this draw.</summary>
    private static int[] FreshReal(LabeledImages unseen, int k, int m, int n, int draw) => PastSources(unseen, k, m, n, draw, "fresh-real", n);

    /// <summary>
    /// Indices of up to <paramref name="limit"/> images of class k that no member trained on, past the m sources of this
    /// draw (the same permutation: never a source); fewer than n would break the equal budget, so that is an error.
    /// </summary>
    private static int[] PastSources(LabeledImages unseen, int k, int m, int n, int draw, string arm, int limit = int.MaxValue)
    {
        var pool = SourcePool.Draw(unseen, k, limit == int.MaxValue ? int.MaxValue : m + limit, draw).Skip(m).ToArray();
        return pool.Length >= n ? pool : throw new DiffusionInputException("--retrain-arms",
            $"{arm} needs {n} images of class {unseen.ClassNames[k]} beyond the {m} sources that no member trained on; --data has {pool.Length}");
    }

    /// <summary>
    /// The n real images of class k, past the m sources of this draw, that the guiding signal ranks highest: what LTG
    /// aims at (in class, where the classifier is weak), drawn from real data instead of the generator.
    /// </summary>
    private static int[] HardReal(LongtailGenerator gen, LtgOptions options, LabeledImages unseen, int k, int m, int n, int draw, CancellationToken ct)
    {
        var pool = PastSources(unseen, k, m, n, draw, "hard-real");
        var signal = gen.GuidingSignal(options, k);
        var scores = new float[pool.Length];
        const int chunk = 512;
        for (int start = 0; start < pool.Length; start += chunk)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var mode = inference_mode();
            var x = TrainingData.ToTensor(unseen.Subset(pool[start..Math.Min(pool.Length, start + chunk)]), gen.Model.Resolution);
            signal.Compute(gen.Decoder.Decode(x)).contiguous().data<float>().ToArray().CopyTo(scores, start);
        }
        return [.. Enumerable.Range(0, pool.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(n).Select(i => pool[i])];
    }

    /// <summary>The content hash of a model file or folder (null when there is none to hash, as in tests).</summary>
    private static string? ModelHash(string? path, Func<string, string> file)
    {
        if (path is null) return null;
        if (Directory.Exists(path)) return FileHash.Sha256OfFolder(path);
        var f = file(path);
        return File.Exists(f) ? FileHash.Sha256(f) : null;
    }

    private static string Pp(PairedDelta d) =>
        $"{d.Mean * 100:+0.00;-0.00} pp (paired 95% CI {d.Ci95[0] * 100:+0.00;-0.00} … {d.Ci95[1] * 100:+0.00;-0.00})";
}
