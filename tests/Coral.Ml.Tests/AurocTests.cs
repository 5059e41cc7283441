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
}
