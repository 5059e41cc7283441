using Coral.Data;
using Coral.Ml.Classification;

namespace Coral.Ml.Tests;

public class SplitTests
{
    [Fact]
    public void Held_out_pool_is_exactly_the_images_the_long_tailed_split_left_out()
    {
        // 300 per class, so class 0 (the head of the split) has as many as any other.
        var all = TestBundles.FullTrain;
        var full = all.Subset(Enumerable.Range(0, 10).SelectMany(k => Enumerable.Range(0, 6000).Where(i => all.Labels[i] == k).Take(300)).Order().ToArray());
        var (train, held) = ClassifierRecipe.Split(full, 0.1, seed: 3);
        var reference = LongTailSplit.Apply(full, 0.1, 3);
        train.Labels.Should().Equal(reference.Labels);
        train.Pixels.AsSpan().SequenceEqual(reference.Pixels).Should().BeTrue();
        (train.Count + held.Count).Should().Be(full.Count);
        train.CountsPerClass().Zip(held.CountsPerClass(), (a, b) => a + b).Should().Equal(full.CountsPerClass());
        ClassifierRecipe.Split(full, 1, 0).HeldOut.Count.Should().Be(0);
    }
}
