using Coral.Ml.Evaluation;

namespace Coral.Ml.Tests;

public class AurocTests
{
    [Fact]
    public void Auroc_counts_pairs_with_ties_as_half()
    {
        // positives 0.9, 0.5; negatives 0.5, 0.1 → pairs: (0.9>0.5)1 (0.9>0.1)1 (0.5=0.5)½ (0.5>0.1)1 = 3.5/4
        Auroc.Compute([0.9f, 0.5f, 0.5f, 0.1f], [true, true, false, false]).Should().BeApproximately(0.875, 1e-12);
        Auroc.Compute([1f, 2f, 3f], [false, false, true]).Should().Be(1);
        Auroc.Compute([3f, 2f, 1f], [false, false, true]).Should().Be(0);
        double.IsNaN(Auroc.Compute([1f, 2f], [true, true])).Should().BeTrue();
    }

    [Fact]
    public void Roc_curve_runs_from_origin_to_one_one()
    {
        var (fpr, tpr) = Auroc.Curve([0.9f, 0.5f, 0.5f, 0.1f], [true, true, false, false]);
        (fpr[0], tpr[0]).Should().Be((0.0, 0.0));
        (fpr[^1], tpr[^1]).Should().Be((1.0, 1.0));
    }

    [Fact]
    public void Interval_narrows_with_more_images_and_a_signal_below_chance_is_called_worse()
    {
        var (lo, hi) = Auroc.Interval(0.75, 50, 50);
        lo.Should().BeLessThan(0.75); hi.Should().BeGreaterThan(0.75);
        var (lo2, hi2) = Auroc.Interval(0.75, 5000, 5000);
        (hi2 - lo2).Should().BeLessThan((hi - lo) / 5);
        // Hanley–McNeil at A = 0.5, n₊ = n₋ = 100: SE² = (0.25 + 99·(1/3 − 1/4) + 99·(1/3 − 1/4)) / 10⁴.
        var (l, h) = Auroc.Interval(0.5, 100, 100);
        (h - 0.5).Should().BeApproximately(1.96 * Math.Sqrt((0.25 + 2 * 99 * (1.0 / 3 - 0.25)) / 1e4), 1e-9);
        Auroc.Verdict(l, h).Should().Be("no better than chance");
        var worse = Auroc.Interval(0.3, 1000, 1000);
        Auroc.Verdict(worse.Low, worse.High).Should().Be("worse than chance");
        var better = Auroc.Interval(0.7, 1000, 1000);
        Auroc.Verdict(better.Low, better.High).Should().Be("better than chance");
    }
}
