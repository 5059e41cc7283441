using System.Diagnostics;
using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Signals;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Evaluation;

/// <summary>How well one signal detects (a) the deployed classifier's mistakes and (b) tail-class images, with 95 % intervals.</summary>
public sealed record SignalScore(string Signal, double AurocMisclassified, double AurocTail, double Mean,
    int ForwardPasses, double MillisecondsPer1000Images)
{
    public double[] AurocMisclassifiedInterval { get; init; } = [];
    public double[] AurocTailInterval { get; init; } = [];
    /// <summary>"better than chance" / "no better than chance" / "worse than chance" at detecting errors, and tail images.</summary>
    public string MisclassifiedVerdict { get; init; } = "";
    public string TailVerdict { get; init; } = "";
}

/// <summary>Where the calibrated flag lands: per class, the share of flags against the share of images.</summary>
public sealed record FlagShare(string Class, string Group, int Images, int Flagged, double ShareOfImages, double ShareOfFlags, double FlagRate);

public sealed record SignalEvalReport
{
    public string Bundle { get; init; } = "";
    public string Dataset { get; init; } = "";
    public int TestImages { get; init; }
    public int Misclassified { get; init; }
    public int TailImages { get; init; }
    public IReadOnlyList<string> TailClasses { get; init; } = [];
    public double Accuracy { get; init; }
    public double EnsembleAccuracy { get; init; }
    public IReadOnlyList<string> ClassNames { get; init; } = [];
    public IReadOnlyList<string> Groups { get; init; } = [];
    public IReadOnlyList<double> AccuracyPerClass { get; init; } = [];
    public IReadOnlyList<SignalScore> Signals { get; init; } = [];
    /// <summary>Flags of the bundle's calibrated signal and threshold, per class (null without a calibration).</summary>
    public string? FlagSignal { get; init; }
    public double? FlagThreshold { get; init; }
    public IReadOnlyList<FlagShare> Flags { get; init; } = [];
    /// <summary>Share of all flags that land on tail classes, against the tail's share of the images.</summary>
    public double? TailShareOfFlags { get; init; }
    public double? TailShareOfImages { get; init; }
    /// <summary>Epistemic head AUROC minus ensemble MI AUROC (misclassified, tail); target |Δ| ≤ 0.03 or better.</summary>
    public double? HeadMinusMiMisclassified { get; init; }
    public double? HeadMinusMiTail { get; init; }
    public bool? HeadWithinTarget { get; init; }
    /// <summary>Measured time of the head signal over the MI signal (ideal 1/K).</summary>
    public double? HeadCostRatio { get; init; }
    public int Members { get; init; }
    public string GitCommit { get; init; } = "";
    public string Command { get; init; } = "";
}

/// <summary>`coral eval signals`: AUROC of every signal for errors and for tail classes on the test set.</summary>
public static class SignalEvaluation
{
    public const double HeadTolerance = 0.03;

    public static SignalEvalReport Run(ClassifierBundle bundle, LabeledImages test, string bundlePath, string dataset, int timingImages = 2048)
    {
        var r = BatchInference.Run(bundle, test);
        var wrong = r.Predicted.Select((p, i) => p != test.Labels[i]).ToArray();
        // The card's groups (or its training counts); a card with neither falls back to the test set's own counts.
        var groups = bundle.Card.ClassGroups(bundle.NumClasses)
            ?? LongTailSplit.Groups(test.CountsPerClass()).Select(g => g.ToString()).ToArray();
        var tail = test.Labels.Select(y => groups[y] == nameof(ClassGroup.Tail)).ToArray();
        var (acc, perClass) = ClassificationMath.Accuracy(r.Predicted, test.Labels, bundle.NumClasses);

        var timing = test.Subset(Enumerable.Range(0, Math.Min(timingImages, test.Count)).ToArray());
        var scores = new List<SignalScore>();
        long nWrong = wrong.Count(w => w), nTail = tail.Count(t => t);
        foreach (var (kind, values) in r.Signals)
        {
            int passes = kind == SignalKind.MutualInformation ? bundle.NumMembers : 1;
            double aMis = Auroc.Compute(values, wrong), aTail = Auroc.Compute(values, tail);
            var iMis = Auroc.Interval(aMis, nWrong, test.Count - nWrong);
            var iTail = Auroc.Interval(aTail, nTail, test.Count - nTail);
            scores.Add(new SignalScore(LongtailSignals.NameOf(kind), aMis, aTail, values.Average(), passes, TimeSignal(LongtailSignals.Create(kind, bundle), timing))
            {
                AurocMisclassifiedInterval = [iMis.Low, iMis.High], AurocTailInterval = [iTail.Low, iTail.High],
                MisclassifiedVerdict = Auroc.Verdict(iMis.Low, iMis.High), TailVerdict = Auroc.Verdict(iTail.Low, iTail.High),
            });
        }
        var flags = new List<FlagShare>();
        if (bundle.Calibration is { } cal && r.Signals.TryGetValue(cal.FlagSignal, out var flagValues))
        {
            double threshold = cal.Threshold(cal.FlagSignal);
            var flagged = flagValues.Select(v => v > threshold).ToArray();
            int total = flagged.Count(f => f);
            for (int k = 0; k < bundle.NumClasses; k++)
            {
                int images = test.Labels.Count(y => y == k), f = test.Labels.Where((y, i) => y == k && flagged[i]).Count();
                flags.Add(new FlagShare(bundle.ClassNames[k], groups[k], images, f, (double)images / test.Count, total == 0 ? 0 : (double)f / total, images == 0 ? 0 : (double)f / images));
            }
        }
        var mi = scores.FirstOrDefault(s => s.Signal == LongtailSignals.NameOf(SignalKind.MutualInformation));
        var head = scores.FirstOrDefault(s => s.Signal == LongtailSignals.NameOf(SignalKind.EpistemicHead));
        double? dMis = mi is null || head is null ? null : head.AurocMisclassified - mi.AurocMisclassified;
        double? dTail = mi is null || head is null ? null : head.AurocTail - mi.AurocTail;
        return new SignalEvalReport
        {
            Bundle = bundlePath, Dataset = dataset, TestImages = test.Count,
            FlagSignal = bundle.Calibration is { } c ? LongtailSignals.NameOf(c.FlagSignal) : null,
            FlagThreshold = bundle.Calibration?.Threshold(bundle.Calibration.FlagSignal),
            Flags = flags,
            TailShareOfFlags = flags.Count == 0 ? null : flags.Where(f => f.Group == nameof(ClassGroup.Tail)).Sum(f => f.ShareOfFlags),
            TailShareOfImages = flags.Count == 0 ? null : flags.Where(f => f.Group == nameof(ClassGroup.Tail)).Sum(f => f.ShareOfImages),
            Misclassified = wrong.Count(w => w), TailImages = tail.Count(t => t),
            TailClasses = Enumerable.Range(0, bundle.NumClasses).Where(k => groups[k] == nameof(ClassGroup.Tail)).Select(k => bundle.ClassNames[k]).ToArray(),
            Accuracy = acc, EnsembleAccuracy = ClassificationMath.Accuracy(r.EnsemblePredicted, test.Labels, bundle.NumClasses).Overall,
            ClassNames = bundle.ClassNames, Groups = groups, AccuracyPerClass = perClass, Signals = scores,
            HeadMinusMiMisclassified = dMis, HeadMinusMiTail = dTail,
            // "Within 0.03" is a floor: doing better than the teacher also meets it.
            HeadWithinTarget = dMis is null ? null : dMis >= -HeadTolerance && dTail >= -HeadTolerance,
            HeadCostRatio = mi is null || head is null ? null : head.MillisecondsPer1000Images / mi.MillisecondsPer1000Images,
            Members = bundle.NumMembers, GitCommit = GitInfo.Commit(),
        };
    }

    /// <summary>Wall time of one signal over a set, batches of 256, inference mode; best of 3 (shared machine).</summary>
    private static double TimeSignal(ILongtailSignal signal, LabeledImages data)
    {
        var best = double.MaxValue;
        var batches = ImageBatches.Chunks(data.Count, 256).Select(idx => ImageBatches.Images(data, idx)).ToList();
        try
        {
            for (int rep = 0; rep < 3; rep++)
            {
                var clock = Stopwatch.StartNew();
                foreach (var x in batches)
                {
                    using var scope = NewDisposeScope();
                    using var mode = torch.inference_mode();
                    signal.Compute(x);
                }
                best = Math.Min(best, clock.Elapsed.TotalMilliseconds);
            }
        }
        finally { foreach (var x in batches) x.Dispose(); }
        return best * 1000.0 / data.Count;
    }
}
