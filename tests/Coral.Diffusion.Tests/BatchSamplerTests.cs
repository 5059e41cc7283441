using Coral.Diffusion.Training;

namespace Coral.Diffusion.Tests;

public class BatchSamplerTests
{
    // A long-tailed label list: class 0 has 600 images, class 1 60, class 2 6, class 3 1.
    private static readonly int[] Labels = [.. Enumerable.Repeat(0, 600), .. Enumerable.Repeat(1, 60), .. Enumerable.Repeat(2, 6), 3];

    private static double[] Shares(ClassBalance balance, int batches = 400, int batch = 64)
    {
        var sampler = new PairedBatchSampler(Labels, 4, balance, seed: 3);
        var counts = new double[4];
        for (int s = 0; s < batches; s++) foreach (var i in sampler.Batch(s, batch)) counts[Labels[i]]++;
        return [.. counts.Select(c => c / (batches * batch))];
    }

    [Theory]
    [InlineData(ClassBalance.None)]
    [InlineData(ClassBalance.SquareRoot)]
    [InlineData(ClassBalance.Balanced)]
    public void Class_shares_follow_the_policy(ClassBalance balance)
    {
        var expected = PairedBatchSampler.ClassProbabilities([600, 60, 6, 1], balance);
        var shares = Shares(balance);
        for (int k = 0; k < 4; k++) shares[k].Should().BeApproximately(expected[k], 0.02, $"class {k} under {balance}");
        if (balance == ClassBalance.Balanced) expected.Should().AllSatisfy(p => p.Should().BeApproximately(0.25, 1e-12));
        if (balance == ClassBalance.SquareRoot) expected[0].Should().BeApproximately(Math.Sqrt(600) / (Math.Sqrt(600) + Math.Sqrt(60) + Math.Sqrt(6) + 1), 1e-12);
    }

    [Fact]
    public void Every_class_in_a_batch_has_at_least_two_members_and_pairs_are_distinct_images()
    {
        var sampler = new PairedBatchSampler(Labels, 4, ClassBalance.Balanced, seed: 5);
        for (int s = 0; s < 200; s++)
        {
            var idx = sampler.Batch(s, 16);
            idx.GroupBy(i => Labels[i]).Should().AllSatisfy(g => g.Count().Should().BeGreaterThanOrEqualTo(2));
            for (int p = 0; p < idx.Length; p += 2)
            {
                Labels[idx[p]].Should().Be(Labels[idx[p + 1]]);
                if (Labels[idx[p]] != 3) idx[p].Should().NotBe(idx[p + 1], "a class with more than one image pairs two different images");
            }
        }
    }

    [Fact]
    public void Batches_depend_only_on_seed_and_step()
    {
        var a = new PairedBatchSampler(Labels, 4, ClassBalance.SquareRoot, seed: 9);
        var b = new PairedBatchSampler(Labels, 4, ClassBalance.SquareRoot, seed: 9);
        b.Batch(7, 32).Should().Equal(a.Batch(7, 32));
        a.Batch(3, 32).Should().Equal(b.Batch(3, 32), "asking for other steps first changes nothing");
        new PairedBatchSampler(Labels, 4, ClassBalance.SquareRoot, seed: 10).Batch(7, 32).Should().NotEqual(a.Batch(7, 32));
    }

    [Fact]
    public void Classes_without_images_are_never_drawn_and_odd_batches_are_refused()
    {
        int[] labels = [0, 0, 2, 2, 2];
        var sampler = new PairedBatchSampler(labels, 3, ClassBalance.Balanced, seed: 1);
        sampler.Probabilities[1].Should().Be(0);
        for (int s = 0; s < 50; s++) sampler.Batch(s, 8).Select(i => labels[i]).Should().NotContain(1);
        sampler.Invoking(x => x.Batch(0, 7)).Should().Throw<DiffusionInputException>().Which.Input.Should().Be("batch");
    }
}
