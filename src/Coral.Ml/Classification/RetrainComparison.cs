using Coral.Data;

namespace Coral.Ml.Classification;

/// <summary>What the approved images did to the deployed classifier: the same fine-tune with and without them.</summary>
public sealed record RetrainComparisonResult(
    string Folder, int Added, IReadOnlyList<int> AddedPerClass, IReadOnlyList<string> ClassNames, IReadOnlyList<int> TailClasses,
    RetrainScore Deployed, RetrainScore Without, RetrainScore With, FineTuning.Options Options, int TestImages);

/// <summary>
/// One turn of the loop, measured: fine-tune member 0 of a bundle on the images its members trained on, once as they
/// are and once with the approved images added, same seed and schedule, and score both on the test set. The
/// difference is what the approved images did; the deployed (not fine-tuned) scores are printed beside them.
/// </summary>
public static class RetrainComparison
{
    public static RetrainComparisonResult Run(ClassifierBundle bundle, Dataset data, string folder, Func<string, string>? folderName, FineTuning.Options o)
    {
        if (!data.ClassNames.SequenceEqual(bundle.ClassNames))
            throw new RecipeInputException("--data", $"has classes [{string.Join(", ", data.ClassNames)}] but the classifier has [{string.Join(", ", bundle.ClassNames)}]");
        var (train, _) = ClassifierRecipe.Partition(data.Train, bundle.Card);
        var extra = DataSource.LoadExtra(folder, train, folderName);
        if (extra.Count == 0) throw new RecipeInputException(folder, "holds no approved images (run `coral review approve`, then `coral review pull-curated`)");
        // A card that names no tail scores every class as "tail": the comparison is still per class.
        int[] tail = bundle.Card.TailClasses(bundle.NumClasses) is { Length: > 0 } t ? t : [.. Enumerable.Range(0, bundle.NumClasses)];
        var deployed = FineTuning.Evaluate(bundle.Members[0], data.Test, tail);
        using var without = FineTuning.FineTune(bundle.Members[0], train, o);
        var scoreWithout = FineTuning.Evaluate(without, data.Test, tail);
        using var with = FineTuning.FineTune(bundle.Members[0], train.Concat(extra), o);
        var scoreWith = FineTuning.Evaluate(with, data.Test, tail);
        return new RetrainComparisonResult(folder, extra.Count, extra.CountsPerClass(), bundle.ClassNames, tail, deployed, scoreWithout, scoreWith, o, data.Test.Count);
    }

}
