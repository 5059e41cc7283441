using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Signals;

namespace Coral.Ml.Evaluation;

/// <summary>How one set of images fared against the out-of-domain threshold, and how well each signal tells it from the real test images.</summary>
public sealed record DomainSetResult(string Set, string What, bool FarFromDomain, int Images, int Marked, double MarkedShare, double[] MarkedCi95,
    IReadOnlyDictionary<string, double[]> AurocVersusTest);

public sealed record DomainVerdict(
    double InDomainMarkedShare, double[] InDomainMarkedCi95, double InDomainTarget,
    double MinFarMarkedShare, string MinFarSet, double FarTarget, bool Met, string Summary);

public sealed record DomainEvalReport
{
    public string Model { get; init; } = "";
    public string ModelSha256 { get; init; } = "";
    public string Dataset { get; init; } = "";
    public double Threshold { get; init; }
    public string ThresholdReference { get; init; } = "";
    public double Quantile { get; init; }
    /// <summary>The real test images: every class, marked share per class (the tail must not be swallowed).</summary>
    public int TestImages { get; init; }
    public IReadOnlyList<ClassMarked> TestPerClass { get; init; } = [];
    public IReadOnlyList<DomainSetResult> Sets { get; init; } = [];
    public DomainVerdict Verdict { get; init; } = null!;
    public string Command { get; init; } = "";
    public string Load { get; init; } = "";
}

public sealed record ClassMarked(string Class, string Group, int Images, int Marked, double MarkedShare);

/// <summary>
/// Does the out-of-domain mark work? The real test images (never used to fit the threshold) should be marked about as
/// often as the quantile says; inputs the classifier has no class for should be marked nearly always. The unfamiliar
/// sets are made from the test images themselves, so they share size, channels and pixel range: uniform noise, one
/// flat level, the test image's own pixels shuffled (same histogram, no shape), and the image inverted (a near-domain
/// set, reported but not part of the target).
/// </summary>
public static class DomainEvaluation
{
    /// <summary>Targets fixed before the first run: at most 1 % of real test images marked, at least 90 % of each far set.</summary>
    public const double InDomainTarget = 0.01, FarTarget = 0.90;

    public static DomainEvalReport Run(ClassifierBundle bundle, LabeledImages test, int perSet = 2000, int seed = 0)
    {
        if (bundle.Calibration?.OutOfDomainThreshold is not double threshold || bundle.Domain is null)
            throw new RecipeInputException("--model", "the bundle has no out-of-domain mark; add one with `coral calibrate`");
        var real = BatchInference.Run(bundle, test);
        var realScore = real.Signals[SignalKind.FeatureDistance];
        int n = Math.Min(perSet, test.Count);
        var pick = test.Subset(Seeding.Permutation(test.Count, Seeding.Derive(seed, 777))[..n]);
        var sets = new List<DomainSetResult>();
        int setIndex = 0;
        foreach (var (name, what, far, make) in Sets())
        {
            var rng = new Random(Seeding.Derive(seed, 1000 + setIndex++));
            var images = Transform(pick, (src, dst) => make(src, dst, rng));
            var r = BatchInference.Run(bundle, images);
            int marked = r.Signals[SignalKind.FeatureDistance].Count(v => v > threshold);
            var aurocs = new Dictionary<string, double[]>();
            var positive = Enumerable.Repeat(false, test.Count).Concat(Enumerable.Repeat(true, n)).ToArray();
            foreach (var (kind, values) in r.Signals)
            {
                var scores = real.Signals[kind].Concat(values).ToArray();
                double a = Auroc.Compute(scores, positive);
                var (lo, hi) = Auroc.Interval(a, n, test.Count);
                aurocs[LongtailSignals.NameOf(kind)] = [a, lo, hi];
            }
            var (mlo, mhi) = Proportion.Wilson((double)marked / n, n);
            sets.Add(new DomainSetResult(name, what, far, n, marked, (double)marked / n, [mlo, mhi], aurocs));
        }
        int testMarked = realScore.Count(v => v > threshold);
        double share = (double)testMarked / test.Count;
        var (tlo, thi) = Proportion.Wilson(share, test.Count);
        var groups = bundle.Card.Groups;
        var perClass = Enumerable.Range(0, test.NumClasses).Select(k =>
        {
            var idx = Enumerable.Range(0, test.Count).Where(i => test.Labels[i] == k).ToArray();
            int m = idx.Count(i => realScore[i] > threshold);
            return new ClassMarked(test.ClassNames[k], k < groups.Count ? groups[k] : "", idx.Length, m, idx.Length == 0 ? 0 : (double)m / idx.Length);
        }).ToArray();
        var farSets = sets.Where(s => s.FarFromDomain).ToArray();
        var worst = farSets.MinBy(s => s.MarkedShare)!;
        bool met = share <= InDomainTarget && worst.MarkedShare >= FarTarget;
        string summary = $"{share:P2} of {test.Count} real test images marked (target ≤ {InDomainTarget:P0}); far sets marked ≥ {worst.MarkedShare:P1} (lowest: {worst.Set}; target ≥ {FarTarget:P0})";
        return new DomainEvalReport
        {
            Threshold = threshold, ThresholdReference = bundle.Calibration.OutOfDomainReference ?? bundle.Calibration.ReferenceSet,
            Quantile = Coral.Scoring.Onnx.OutOfDomainMark.Quantile, TestImages = test.Count, TestPerClass = perClass, Sets = sets,
            Verdict = new DomainVerdict(share, [tlo, thi], InDomainTarget, worst.MarkedShare, worst.Set, FarTarget, met, summary),
        };
    }

    private static IEnumerable<(string Name, string What, bool Far, Action<byte[], byte[], Random> Make)> Sets()
    {
        yield return ("uniform-noise", "every pixel uniform in 0–255", true, (_, d, r) => r.NextBytes(d));
        yield return ("flat", "one random level over the whole image", true, (_, d, r) => Array.Fill(d, (byte)r.Next(256)));
        yield return ("shuffled-pixels", "the test image's own pixels in random order: same histogram, no shape", true, (s, d, r) =>
        {
            s.CopyTo(d, 0);
            r.Shuffle(d);
        });
        yield return ("inverted", "255 − the test image: the same shapes in negative (near the domain; reported, not a target)", false, (s, d, _) =>
        {
            for (int i = 0; i < s.Length; i++) d[i] = (byte)(255 - s[i]);
        });
    }

    private static LabeledImages Transform(LabeledImages set, Action<byte[], byte[]> make)
    {
        int per = set.PixelsPerImage;
        var pixels = new byte[set.Count * per];
        var src = new byte[per];
        var dst = new byte[per];
        for (int i = 0; i < set.Count; i++)
        {
            set.Image(i).CopyTo(src);
            make(src, dst);
            dst.CopyTo(pixels, i * per);
        }
        return new LabeledImages(pixels, set.Labels, set.Channels, set.Height, set.Width, set.ClassNames);
    }
}
