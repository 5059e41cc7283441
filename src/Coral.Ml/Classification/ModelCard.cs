using Coral.Ml.Signals;

namespace Coral.Ml.Classification;

/// <summary>
/// What a shipped classifier is: data, split, seed, per-class accuracy, head/middle/tail groups and the
/// git commit it was trained at. Embedded in the checkpoint and written beside it as model-card.json.
/// </summary>
public sealed record ModelCard
{
    public string Kind { get; init; } = "classifier";
    public string Purpose { get; init; } = "";
    public string Dataset { get; init; } = "";
    public string DataDirectory { get; init; } = "";
    public double Imbalance { get; init; } = 1;
    /// <summary>Share of each class of the long-tailed split held out for head and calibration (null: a bundle from before the held-out recipe, whose members trained on all of it).</summary>
    public double? HeldOutFraction { get; init; }
    public int Seed { get; init; }
    public int Members { get; init; }
    public int Epochs { get; init; }
    public int BatchSize { get; init; }
    public double LearningRate { get; init; }
    /// <summary>Training-time augmentation ("none", or the sampler degradations a judge is trained on).</summary>
    public string Augmentation { get; init; } = "none";
    /// <summary>The members' training loss (cards from before logit adjustment say nothing and were plain cross-entropy).</summary>
    public string Loss { get; init; } = "cross-entropy";
    /// <summary>Input shape the network takes, channels × height × width.</summary>
    public string InputShape { get; init; } = "";
    public IReadOnlyList<string> ClassNames { get; init; } = [];
    public IReadOnlyList<int> TrainCountsPerClass { get; init; } = [];
    public IReadOnlyList<string> Groups { get; init; } = [];
    public double TestAccuracy { get; init; }
    public IReadOnlyList<double> TestAccuracyPerClass { get; init; } = [];
    public double EnsembleTestAccuracy { get; init; }
    public IReadOnlyList<double> MemberTestAccuracy { get; init; } = [];
    public string Predictor { get; init; } = "member 0 (the deployed classifier); members 1..K-1 only feed the ensemble signal";
    public EpistemicHeadCard? EpistemicHead { get; init; }
    public CalibrationCard? Calibration { get; init; }
    public string GitCommit { get; init; } = "unknown";
    public DateTimeOffset CreatedUtc { get; init; } = DateTimeOffset.UtcNow;
    public double TrainingSeconds { get; init; }
    public string Command { get; init; } = "";

    /// <summary>The tail classes: from <see cref="Groups"/>, else from the training counts; empty when the card knows neither.</summary>
    public int[] TailClasses(int numClasses)
    {
        if (Groups.Count == numClasses)
        {
            var t = Enumerable.Range(0, numClasses).Where(k => Groups[k] == nameof(Coral.Data.ClassGroup.Tail)).ToArray();
            if (t.Length > 0) return t;
        }
        return GroupsFromCounts(numClasses) is { } g ? [.. Enumerable.Range(0, numClasses).Where(k => g[k] == nameof(Coral.Data.ClassGroup.Tail))] : [];
    }

    /// <summary>Each class's group (head, middle, tail): <see cref="Groups"/>, else from the training counts; null when the card knows neither.</summary>
    public IReadOnlyList<string>? ClassGroups(int numClasses) => Groups.Count == numClasses ? Groups : GroupsFromCounts(numClasses);

    private string[]? GroupsFromCounts(int numClasses) => TrainCountsPerClass.Count == numClasses
        ? [.. Coral.Data.LongTailSplit.Groups(TrainCountsPerClass).Select(g => g.ToString())]
        : null;
    /// <summary>Extra labelled images the members trained on (approved images from curated/), per folder.</summary>
    public IReadOnlyList<AddedImages>? AddedImages { get; init; }
}

public sealed record AddedImages(string Folder, int Count, IReadOnlyList<int> CountsPerClass);

public sealed record EpistemicHeadCard(string Target, int TrainImages, string TrainSet, int Epochs, double TargetCorrelation);

public sealed record CalibrationCard(double FlagRate, string FlagSignal, IReadOnlyDictionary<string, double> Thresholds, int ReferenceImages, string ReferenceSet)
{
    /// <summary>Feature distance above which a field image is marked out of domain (the 99.5 % quantile on the reference images).</summary>
    public double? OutOfDomainThreshold { get; init; }
    public string? OutOfDomainReference { get; init; }

    public static CalibrationCard Of(Calibration c) =>
        new(c.FlagRate, LongtailSignals.NameOf(c.FlagSignal), c.Thresholds.ToDictionary(kv => LongtailSignals.NameOf(kv.Key), kv => kv.Value), c.ReferenceCount, c.ReferenceSet)
        {
            OutOfDomainThreshold = c.OutOfDomainThreshold, OutOfDomainReference = c.OutOfDomainReference,
        };
}
