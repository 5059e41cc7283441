using Coral.Pipeline.Contracts;
using Coral.Pipeline.Names;

namespace Coral.Pipeline.Generation;

/// <summary>
/// Which classes a flagged image's batch is generated for. Its true class is unknown: the classifier is unsure exactly
/// there, so its top guess alone would mislabel the batch whenever it is wrong. The policy takes the top candidate and,
/// if the runner-up is plausible (p ≥ <see cref="Defaults.TargetClassMinProbability"/>), splits the images between them;
/// each image records its target class, and a reviewer confirms or corrects it before anything is curated.
/// </summary>
public static class TargetClasses
{
    public static IReadOnlyList<(int ClassIndex, int Count)> Plan(ImageScore score, int images,
        int maxClasses = Defaults.TargetClassesPerJob, double minProbability = Defaults.TargetClassMinProbability)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(images, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxClasses, 1);
        var ranked = Enumerable.Range(0, score.Probabilities.Length).OrderByDescending(k => score.Probabilities[k]).ThenBy(k => k).ToList();
        var chosen = ranked.Take(1).Concat(ranked.Skip(1).Take(maxClasses - 1).Where(k => score.Probabilities[k] >= minProbability)).Take(images).ToList();
        // Even split, the extra images to the likelier classes.
        return [.. chosen.Select((k, i) => (k, images / chosen.Count + (i < images % chosen.Count ? 1 : 0)))];
    }
}
