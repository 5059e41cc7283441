using System.Diagnostics;
using Coral.Data;
using Coral.Ml.Common;
using Coral.Ml.Evaluation;
using Coral.Ml.Signals;

namespace Coral.Ml.Classification;

public sealed record RecipeOptions
{
    public DataOptions Data { get; init; } = new();
    /// <summary>ρ of the long-tailed subsampling; 1 = the data as it is; null = the dataset's default (0.01 for the built-in Fashion-MNIST, 1 for a folder).</summary>
    public double? Imbalance { get; init; }
    /// <summary>Share of each class of the training split held out for the epistemic head and the flag calibration.</summary>
    public double HeldOutFraction { get; init; } = 0.15;
    public int Members { get; init; } = 4;
    public int Seed { get; init; }
    public TrainOptions Train { get; init; } = new();
    public CnnConfig? Config { get; init; }
    /// <summary>Conv widths (c1, c2) when <see cref="Config"/> is not given; null = the CNN's defaults.</summary>
    public (int Conv1, int Conv2)? ConvWidths { get; init; }
    /// <summary>Train the epistemic head and calibrate (needs ≥ 2 members and held-out images).</summary>
    public bool WithHead { get; init; } = true;
    public int HeadTrainImages { get; init; } = 20000;
    public int CalibrationImages { get; init; } = 5000;
    public double FlagRate { get; init; } = 0.05;
    public SignalKind FlagSignal { get; init; } = SignalKind.EpistemicHead;
    public EpistemicHeadTrainer.Options Head { get; init; } = new();
    /// <summary>Cap on training images (tests); null = all of the split.</summary>
    public int? MaxTrainImages { get; init; }
    public int? MaxTestImages { get; init; }
    public string Kind { get; init; } = "classifier";
    public string Purpose { get; init; } = "default scorer: flags field images that are longtail for this classifier";
    public string Command { get; init; } = "";
    /// <summary>Folders of extra labelled training images (approved images from curated/), added to the members' training set only.</summary>
    public IReadOnlyList<string> AddImages { get; init; } = [];
    /// <summary>How a class name is written as a folder name in <see cref="AddImages"/> besides itself (the pipeline's curated/ naming).</summary>
    public Func<string, string>? ClassFolderName { get; init; }
}

/// <summary>The recipe's options cannot give a working bundle (for example one that could never flag).</summary>
public sealed class RecipeInputException(string input, string problem) : ArgumentException($"{input}: {problem}", input), ICoralInputError;

/// <summary>
/// The whole classifier recipe: (optional) long-tailed subsampling → a stratified held-out part of the training
/// split, shaped like the training data and so like long-tailed field traffic → K members on the rest → epistemic
/// head distilled from the ensemble's mutual information on half of the held-out part (plus any images the
/// subsampling left out) → flag calibration on the other half → test accuracy → model card. The test set stays
/// untouched until evaluation. A bundle that could not flag (one member, no held-out images) is refused.
/// </summary>
public static class ClassifierRecipe
{
    /// <summary>Fewest held-out images the calibration accepts: a 5 % threshold needs some images above it.</summary>
    public const int MinCalibrationImages = 40;

    public static ClassifierBundle Train(RecipeOptions o, ITrainingProgress? progress = null)
    {
        progress ??= NullProgress.Instance;
        var clock = Stopwatch.StartNew();
        var data = DataSource.Load(o.Data);
        var test = data.Test;
        if (o.MaxTestImages is int mt && mt < test.Count) test = test.Subset(Seeding.Permutation(test.Count, o.Seed)[..mt]);
        return Train(data with { Test = test }, o, progress, clock);
    }

    public static ClassifierBundle Train(Dataset data, RecipeOptions o, ITrainingProgress progress, Stopwatch? clock = null)
    {
        clock ??= Stopwatch.StartNew();
        var full = data.Train;
        var test = data.Test;
        double rho = o.Imbalance ?? data.DefaultImbalance;
        var (ltTrain, leftOut) = Split(full, rho, o.Seed);
        if (o.WithHead && o.Members < 2)
            throw new RecipeInputException("--members", $"the epistemic head and the flag need at least 2 ensemble members, got {o.Members} (a single network is only for --judge)");
        var train = ltTrain;
        LabeledImages headSet = full.Subset([]), calSet = full.Subset([]);
        if (o.WithHead)
        {
            var (keep, heldOut) = HoldOut(ltTrain, o.HeldOutFraction, o.Seed);
            train = keep;
            var (headIdx, calIdx) = HalveHeldOut(heldOut, o.Seed);
            calSet = heldOut.Subset(calIdx);
            if (calSet.Count < MinCalibrationImages)
                throw new RecipeInputException(data.Name, $"holds out only {calSet.Count} images for the flag calibration ({o.HeldOutFraction:P0} of {ltTrain.Count}, halved); need {MinCalibrationImages}: add images or raise --held-out");
            // The head learns a regression (MI from features): more images help; the subsampling's left-overs are free.
            var extra = leftOut.Count == 0 ? [] : Seeding.Permutation(leftOut.Count, Seeding.Derive(o.Seed, 31337))[..Math.Min(leftOut.Count, Math.Max(0, o.HeadTrainImages - headIdx.Length))];
            headSet = heldOut.Subset(headIdx).Concat(leftOut.Subset(extra));
        }
        if (o.MaxTrainImages is int mx && mx < train.Count) train = train.Subset(Seeding.Permutation(train.Count, o.Seed)[..mx]);
        // Approved images feed the members only: the held-out part stays real and field-shaped for head and calibration.
        var added = new List<AddedImages>();
        foreach (var dir in o.AddImages)
        {
            var extra = DataSource.LoadExtra(dir, full, o.ClassFolderName);
            added.Add(new AddedImages(dir, extra.Count, extra.CountsPerClass()));
            train = train.Concat(extra);
        }
        var counts = train.CountsPerClass();
        var config = o.Config ?? (o.ConvWidths is { } w
            ? new CnnConfig(full.Channels, full.Height, full.Width, full.NumClasses, w.Conv1, w.Conv2)
            : new CnnConfig(full.Channels, full.Height, full.Width, full.NumClasses));
        progress.Message($"training {o.Members} member(s) on {train.Count} {data.Shape} images of {data.Name} (ρ={rho}), counts [{string.Join(", ", counts)}]");

        var members = new List<SmallCnn>();
        for (int m = 0; m < o.Members; m++)
            members.Add(ClassifierTrainer.TrainMember(train, config, o.Train with { Seed = o.Seed }, m, progress));
        var card = new ModelCard
        {
            Kind = o.Kind, Purpose = o.Purpose, Dataset = data.Description + (rho < 1 ? $"; long-tailed subsample rho={rho}" : "")
                + string.Concat(added.Select(a => $"; plus {a.Count} approved images from {a.Folder}")),
            DataDirectory = o.Data.Path, Imbalance = rho, HeldOutFraction = o.WithHead ? o.HeldOutFraction : null, Seed = o.Seed, Members = o.Members,
            Epochs = o.Train.Epochs, BatchSize = o.Train.BatchSize, LearningRate = o.Train.LearningRate,
            Augmentation = o.Train.Degrade
                ? $"sampler degradations: Gaussian blur σ ≤ {SamplerDegradations.MaxBlurSigma} px on half of each batch, noise σ ≤ {SamplerDegradations.MaxNoiseSigma}"
                : "none",
            Loss = o.Train.LogitAdjustment > 0
                ? $"logit-adjusted cross-entropy CE(z + τ·log π, y), τ = {o.Train.LogitAdjustment}, π = the training counts above (Menon et al. 2021)"
                : "cross-entropy",
            InputShape = $"{config.Channels}x{config.Height}x{config.Width}",
            ClassNames = full.ClassNames, TrainCountsPerClass = counts,
            Groups = LongTailSplit.Groups(counts).Select(g => g.ToString()).ToArray(),
            GitCommit = GitInfo.Commit(), Command = o.Command, AddedImages = added.Count == 0 ? null : added,
            Predictor = o.Members > 1 ? new ModelCard().Predictor : "single network",
        };
        var bundle = new ClassifierBundle(config, full.ClassNames, members, null, null, card);

        EpistemicHead? head = null;
        Calibration? calibration = null;
        EpistemicHeadCard? headCard = null;
        if (o.WithHead)
        {
            progress.Message($"epistemic head: distilling ensemble mutual information on {headSet.Count} held-out images");
            var r = BatchInference.Run(bundle, headSet, keepFeatures: true);
            var target = r.Signals[SignalKind.MutualInformation];
            head = EpistemicHeadTrainer.Fit(r.Features!, r.Logits, target, config.FeatureDim, config.NumClasses, o.Head with { Seed = o.Seed }, progress);
            headCard = new EpistemicHeadCard("ensemble mutual information (nats)", headSet.Count,
                $"held-out training images of {data.Name} (stratified half)" + (headSet.Count > calSet.Count * 2 ? " plus images the long-tailed subsampling left out" : ""),
                o.Head.Epochs, Pearson(HeadValues(head, r.Features!, r.Logits, config), target));

            // Where the training images sit in feature space (member 0's features, no head needed): the out-of-domain
            // mark's model, thresholded on calSet below.
            bundle = new ClassifierBundle(config, full.ClassNames, members, head, null, card) { Domain = FitDomain(bundle, train) };
            var cal = BatchInference.Run(bundle, calSet);
            calibration = Calibration.Fit(cal.Signals, o.FlagRate, o.FlagSignal,
                $"{calSet.Count} held-out training images of {data.Name}, stratified: the class shape of the training data, which stands in for long-tailed field traffic");
        }

        var t = BatchInference.Run(bundle, test);
        var (acc, perClass) = ClassificationMath.Accuracy(t.Predicted, test.Labels, config.NumClasses);
        card = card with
        {
            TestAccuracy = acc,
            TestAccuracyPerClass = perClass,
            EnsembleTestAccuracy = ClassificationMath.Accuracy(t.EnsemblePredicted, test.Labels, config.NumClasses).Overall,
            MemberTestAccuracy = t.MemberPredicted.Select(p => ClassificationMath.Accuracy(p, test.Labels, config.NumClasses).Overall).ToArray(),
            EpistemicHead = headCard,
            Calibration = calibration is null ? null : CalibrationCard.Of(calibration),
            TrainingSeconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        return new ClassifierBundle(config, full.ClassNames, members, head, calibration, card) { Domain = bundle.Domain };
    }

    /// <summary>The held-out part's two stratified halves: the epistemic head's images and the calibration's.</summary>
    private static (int[] Head, int[] Calibration) HalveHeldOut(LabeledImages heldOut, int seed) =>
        DataSource.StratifiedSplit(heldOut.Labels, heldOut.NumClasses, 0.5, Seeding.Derive(seed, 4242));

    /// <summary>
    /// The real images a bundle's out-of-domain threshold is fitted on, rebuilt from its card: the calibration half of
    /// its held-out part (the images its flag thresholds came from), or, for a bundle from before the held-out recipe,
    /// every training image none of its members saw (what the long-tailed subsampling left out). Never the test set.
    /// </summary>
    public static (LabeledImages Images, string Description) CalibrationReference(Dataset data, ModelCard card)
    {
        var (ltTrain, leftOut) = Split(data.Train, card.Imbalance, card.Seed);
        if (card.HeldOutFraction is double f)
        {
            var (_, heldOut) = HoldOut(ltTrain, f, card.Seed);
            var cal = heldOut.Subset(HalveHeldOut(heldOut, card.Seed).Calibration);
            return (cal, $"{cal.Count} held-out training images of {data.Name} (the flag calibration's half), stratified like the training data");
        }
        if (leftOut.Count < MinCalibrationImages)
            throw new RecipeInputException(data.Name, $"the bundle's members trained on every image but {leftOut.Count}, too few to fit an out-of-domain threshold on; retrain it with the held-out recipe (coral train classifier)");
        return (leftOut, $"{leftOut.Count} training images of {data.Name} outside the long-tailed split, which no member trained on (class shape: the reverse of the training data's)");
    }

    /// <summary>
    /// Adds the out-of-domain mark to an already calibrated bundle: the feature-distance model fitted on the images its
    /// members trained on, its threshold on <paramref name="reference"/> (real images none of them saw). Returns the
    /// bundle with both in its calibration and card; it shares the networks of <paramref name="bundle"/>, so dispose only one.
    /// </summary>
    public static ClassifierBundle FitOutOfDomain(ClassifierBundle bundle, LabeledImages membersTrain, LabeledImages reference, string description)
    {
        if (bundle.Calibration is not { } cal)
            throw new RecipeInputException("--model", "the bundle has no flag calibration (it was trained without the epistemic head), so it has nothing to add an out-of-domain mark to; retrain it with coral train classifier");
        var withDomain = new ClassifierBundle(bundle.Config, bundle.ClassNames, bundle.Members, bundle.Head, cal, bundle.Card) { Domain = FitDomain(bundle, membersTrain) };
        var distance = BatchInference.Run(withDomain, reference).Signals[SignalKind.FeatureDistance];
        var fitted = cal with
        {
            Thresholds = new Dictionary<SignalKind, double>(cal.Thresholds) { [SignalKind.FeatureDistance] = Calibration.Quantile(distance, 1 - cal.FlagRate) },
            OutOfDomainThreshold = Calibration.Quantile(distance, Coral.Scoring.Onnx.OutOfDomainMark.Quantile), OutOfDomainReference = description,
        };
        return new ClassifierBundle(bundle.Config, bundle.ClassNames, bundle.Members, bundle.Head, fitted, bundle.Card with { Calibration = CalibrationCard.Of(fitted) })
        {
            Domain = withDomain.Domain,
        };
    }

    /// <summary>Class means and shared covariance of member 0's domain features on the images the members trained on.</summary>
    private static FeatureDistance FitDomain(ClassifierBundle bundle, LabeledImages membersTrain) =>
        FeatureDistance.Fit(BatchInference.DomainFeatures(bundle, membersTrain), membersTrain.Labels, bundle.NumClasses, bundle.Config.DomainFeatureDim);

    /// <summary>The stratified held-out part of the long-tailed split (head and calibration) and the rest (the members' training set).</summary>
    private static (LabeledImages Train, LabeledImages HeldOut) HoldOut(LabeledImages ltTrain, double fraction, int seed)
    {
        var (keep, held) = DataSource.StratifiedSplit(ltTrain.Labels, ltTrain.NumClasses, fraction, Seeding.Derive(seed, 31337));
        return (ltTrain.Subset(keep), ltTrain.Subset(held));
    }

    /// <summary>
    /// A trained bundle's view of its training data, rebuilt from its card: the images its members trained on, and the
    /// images none of them saw (the held-out part and what the long-tailed subsampling left out). Experiments draw
    /// "field" images from the second and retrain on the first; the test set is not part of either.
    /// </summary>
    public static (LabeledImages MembersTrain, LabeledImages Unseen) Partition(LabeledImages full, ModelCard card)
    {
        var (ltTrain, leftOut) = Split(full, card.Imbalance, card.Seed);
        if (card.HeldOutFraction is not double f) return (ltTrain, leftOut);
        var (train, heldOut) = HoldOut(ltTrain, f, card.Seed);
        return (train, heldOut.Concat(leftOut));
    }

    /// <summary>
    /// The long-tailed training split and the training images it leaves out (the held-out pool).
    /// The left-out indices come from running <see cref="LongTailSplit.Apply"/> on a stand-in set whose
    /// "pixels" are the image indices: same labels and seed give the same selection, without copying its logic.
    /// </summary>
    public static (LabeledImages Train, LabeledImages HeldOut) Split(LabeledImages full, double imbalance, int seed)
    {
        if (imbalance >= 1) return (full, full.Subset([]));
        var idxPixels = new byte[full.Count * 4];
        for (int i = 0; i < full.Count; i++) BitConverter.TryWriteBytes(idxPixels.AsSpan(i * 4, 4), i);
        var probe = LongTailSplit.Apply(new LabeledImages(idxPixels, full.Labels, 1, 1, 4, full.ClassNames), imbalance, seed);
        var kept = new HashSet<int>(Enumerable.Range(0, probe.Count).Select(i => BitConverter.ToInt32(probe.Image(i))));
        var keptSorted = kept.Order().ToArray();
        var rest = Enumerable.Range(0, full.Count).Where(i => !kept.Contains(i)).ToArray();
        return (full.Subset(keptSorted), full.Subset(rest));
    }


    /// <summary>The head on precomputed features and logits (no second pass through the members).</summary>
    private static float[] HeadValues(EpistemicHead head, float[] features, float[] logits, CnnConfig config)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var mode = TorchSharp.torch.inference_mode();
        int n = logits.Length / config.NumClasses;
        return head.forward(TorchSharp.torch.tensor(features, [n, config.FeatureDim]), TorchSharp.torch.tensor(logits, [n, config.NumClasses]))
            .data<float>().ToArray();
    }

    private static double Pearson(float[] a, float[] b)
    {
        double ma = a.Average(), mb = b.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) * (a[i] - ma); sbb += (b[i] - mb) * (b[i] - mb); }
        return saa == 0 || sbb == 0 ? double.NaN : sab / Math.Sqrt(saa * sbb);
    }
}
