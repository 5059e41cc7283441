using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Evaluation;
using Coral.Ml.Signals;

namespace Coral.Ml.Tests;

/// <summary>The checkpoints committed under models/ load, have the promised parts and still classify.</summary>
public class ShippedModelTests
{
    private static readonly Lazy<LabeledImages> Test = new(() =>
    {
        var t = FashionMnist.Load(FashionMnist.Split.Test);
        return t.Subset(Seeding.Permutation(t.Count, 0)[..500]);
    });

    [Fact]
    public void Default_classifier_has_ensemble_head_calibration_and_card()
    {
        using var bundle = ClassifierBundle.Load(ClassifierBundle.DefaultClassifierPath);
        bundle.NumMembers.Should().BeGreaterThanOrEqualTo(2);
        bundle.Head.Should().NotBeNull();
        bundle.Calibration!.FlagSignal.Should().Be(SignalKind.EpistemicHead);
        bundle.Calibration.FlagRate.Should().Be(0.05);
        bundle.Card.Imbalance.Should().Be(0.01);
        bundle.Card.Groups.Should().HaveCount(10);
        bundle.InputShape.Should().Be((1, 28, 28));
        var r = BatchInference.Run(bundle, Test.Value);
        ClassificationMath.Accuracy(r.Predicted, Test.Value.Labels, 10).Overall.Should().BeGreaterThan(0.6);
    }

    [Fact]
    public void Judge_is_one_network_trained_on_the_balanced_set()
    {
        using var judge = ClassifierBundle.Load(ClassifierBundle.DefaultJudgePath);
        judge.NumMembers.Should().Be(1);
        judge.Head.Should().BeNull();
        judge.Card.Imbalance.Should().Be(1);
        judge.Card.Kind.Should().Be("judge");
        var r = BatchInference.Run(judge, Test.Value);
        ClassificationMath.Accuracy(r.Predicted, Test.Value.Labels, 10).Overall.Should().BeGreaterThan(0.8);
    }
}
