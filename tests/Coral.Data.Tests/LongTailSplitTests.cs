namespace Coral.Data.Tests;

public class LongTailSplitTests
{
    private static readonly int[] Cifar10Lt = [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60];

    /// <summary>K classes of n images each; image i holds its own index as 4 bytes so picks can be compared.</summary>
    private static LabeledImages Balanced(int classes, int perClass)
    {
        int n = classes * perClass;
        var px = new byte[4 * n];
        var ys = new int[n];
        for (int i = 0; i < n; i++)
        {
            BitConverter.TryWriteBytes(px.AsSpan(4 * i), i);
            ys[i] = i % classes;
        }
        return new LabeledImages(px, ys, 1, 2, 2, Enumerable.Range(0, classes).Select(k => $"c{k}").ToArray());
    }

    [Fact]
    public void Class_counts_follow_the_cifar_lt_formula()
    {
        LongTailSplit.ClassCounts(6000, 0.01, 10).Should().Equal(Cifar10Lt);
        LongTailSplit.ClassCounts(500, 1.0, 4).Should().Equal(500, 500, 500, 500);
        LongTailSplit.ClassCounts(10, 0.001, 3).Should().Equal([10, 1, 1], "a class never drops to zero");
    }

    [Fact]
    public void Invalid_arguments()
    {
        var bad = new Action[]
        {
            () => LongTailSplit.ClassCounts(6000, 0, 10), () => LongTailSplit.ClassCounts(6000, 1.5, 10),
            () => LongTailSplit.ClassCounts(6000, double.NaN, 10), () => LongTailSplit.ClassCounts(0, 0.1, 10),
            () => LongTailSplit.ClassCounts(6000, 0.1, 0),
        };
        foreach (var act in bad) act.Should().Throw<ArgumentOutOfRangeException>();
        var tooFew = () => LongTailSplit.Apply(Balanced(3, 10), 0.5, seed: 0, nMax: 11);
        tooFew.Should().Throw<ArgumentException>().WithMessage("*class 0 (c0) needs 11 images*");
    }

    [Fact]
    public void The_real_training_set_splits_to_the_expected_counts()
    {
        var train = FashionMnist.Load(FashionMnist.Split.Train);
        var lt = LongTailSplit.Apply(train, 0.01, seed: 0);
        lt.CountsPerClass().Should().Equal(Cifar10Lt);
        lt.Count.Should().Be(Cifar10Lt.Sum());
    }

    [Fact]
    public void Same_seed_same_picks_different_seed_different_picks()
    {
        var full = Balanced(10, 600);
        var a = LongTailSplit.Apply(full, 0.1, seed: 42);
        var b = LongTailSplit.Apply(full, 0.1, seed: 42);
        var c = LongTailSplit.Apply(full, 0.1, seed: 43);
        a.CountsPerClass().Should().Equal(LongTailSplit.ClassCounts(600, 0.1, 10));
        b.Pixels.Should().Equal(a.Pixels);
        b.Labels.Should().Equal(a.Labels);
        c.CountsPerClass().Should().Equal(a.CountsPerClass());
        c.Pixels.Should().NotEqual(a.Pixels);
    }

    [Fact]
    public void Picks_are_pinned_for_a_given_seed()
    {
        // Our own shuffle: these indices must not change with the .NET version.
        var lt = LongTailSplit.Apply(Balanced(2, 10), 0.2, seed: 7);
        var picked = Enumerable.Range(0, lt.Count).Select(i => BitConverter.ToInt32(lt.Image(i))).ToArray();
        lt.CountsPerClass().Should().Equal(10, 2);
        picked.Should().BeInAscendingOrder().And.HaveCount(12);
        picked.Where(i => i % 2 == 0).Should().HaveCount(10, "class 0 keeps everything");
        var tail = picked.Where(i => i % 2 == 1).ToArray();
        LongTailSplit.Apply(Balanced(2, 10), 0.2, seed: 7).Pixels.Should().Equal(lt.Pixels);
        tail.Should().Equal(PinnedTail);
    }

    // Recorded from the implementation; a change here changes every long-tailed split in the project.
    private static readonly int[] PinnedTail = [5, 17];

    [Fact]
    public void Groups_are_head_middle_tail_by_count_rank()
    {
        LongTailSplit.Groups(Cifar10Lt).Should().Equal(
            ClassGroup.Head, ClassGroup.Head, ClassGroup.Head,
            ClassGroup.Middle, ClassGroup.Middle, ClassGroup.Middle, ClassGroup.Middle,
            ClassGroup.Tail, ClassGroup.Tail, ClassGroup.Tail);
        LongTailSplit.Groups([5, 100, 50, 1, 70, 20]).Should().Equal(
            ClassGroup.Tail, ClassGroup.Head, ClassGroup.Middle, ClassGroup.Tail, ClassGroup.Head, ClassGroup.Middle);
        LongTailSplit.Groups([7, 7]).Should().Equal(ClassGroup.Middle, ClassGroup.Middle);
    }
}
