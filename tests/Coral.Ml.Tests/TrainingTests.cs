using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Evaluation;
using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Ml.Tests;

public class TrainingTests
{
    private static readonly TrainOptions Quick = new() { Epochs = 2, BatchSize = 32, LearningRate = 3e-3, Seed = 5 };

    [Fact]
    public void A_tiny_network_learns_a_few_hundred_images()
    {
        var data = TestBundles.Images(300);
        using var model = ClassifierTrainer.TrainMember(data, TestBundles.Tiny, Quick with { Epochs = 6, LearningRate = 1e-2 }, member: 0);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var logits = model.forward(ImageBatches.Images(data, Enumerable.Range(0, data.Count).ToArray())).data<float>().ToArray();
        var (acc, _) = ClassificationMath.Accuracy(ClassificationMath.ArgMax(logits, 10), data.Labels, 10);
        acc.Should().BeGreaterThan(0.35, "10 classes: chance is 0.1 (a 4-channel net, 6 short epochs)");
    }

    /// <summary>400 synthetic images with class 9 made rare: 3 images against ~40 of every other class.</summary>
    private static Coral.Data.LabeledImages RareClass9()
    {
        var all = TestBundles.Images(400);
        return all.Subset([.. Enumerable.Range(0, all.Count).Where(i => all.Labels[i] != 9), .. Enumerable.Range(0, all.Count).Where(i => all.Labels[i] == 9).Take(3)]);
    }

    /// <summary>How far class 9's logit sits above the mean logit, averaged over 200 images neither training set holds.</summary>
    private static double RareLead(SmallCnn m)
    {
        var test = TestBundles.Images(200, offset: 400);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var z = m.forward(ImageBatches.Images(test, Enumerable.Range(0, test.Count).ToArray()));
        return (z[.., 9] - z.mean([1])).mean().item<float>();
    }

    [Fact]
    public void Logit_adjusted_fine_tuning_raises_a_rare_classs_logits_above_plain_fine_tuning()
    {
        ClassificationMath.LogPrior([3, 1, 0]).Should().BeEquivalentTo(new[] { (float)Math.Log(3 / 5.0), (float)Math.Log(1 / 5.0), (float)Math.Log(1 / 5.0) },
            "a class without images counts as one");
        var train = RareClass9();
        using var start = ClassifierTrainer.TrainMember(train, TestBundles.Tiny, Quick with { Epochs = 3, LearningRate = 1e-2 }, member: 0);
        var o = new FineTuning.Options(Epochs: 2, BatchSize: 32, LearningRate: 3e-3, Seed: 1);
        using var plain = FineTuning.FineTune(start, train, o);
        using var adjusted = FineTuning.FineTune(start, train, o with { LogitAdjustment = 1 });
        RareLead(adjusted).Should().BeGreaterThan(RareLead(plain) + 0.1, "the adjusted loss asks the rare class for a larger margin, so its raw logits favour it");
    }

    [Fact]
    public void A_member_trained_with_the_logit_adjusted_loss_favours_the_rare_class_and_resumes_only_with_the_same_loss()
    {
        var train = RareClass9();
        var o = Quick with { Epochs = 3, LearningRate = 1e-2 };
        using var plain = ClassifierTrainer.TrainMember(train, TestBundles.Tiny, o, member: 0);
        string ckpt = Path.Combine(TestBundles.TempDir(), "c");
        using var adjusted = ClassifierTrainer.TrainMember(train, TestBundles.Tiny, o with { LogitAdjustment = 1, CheckpointDir = ckpt }, member: 0);
        RareLead(adjusted).Should().BeGreaterThan(RareLead(plain) + 0.1, "τ·log π is added in training only, so the raw logits carry the rare class's larger margin");
        TensorFile.Load(Path.Combine(ckpt, "member0.ckpt")).Meta["logitAdjustment"]!.GetValue<double>().Should().Be(1);
        FluentActions.Invoking(() => ClassifierTrainer.TrainMember(train, TestBundles.Tiny, o with { CheckpointDir = ckpt, Resume = true }, 0))
            .Should().Throw<CheckpointMismatchException>().Which.Message.Should().Contain("loss");
    }

    [Fact]
    public void Resuming_after_an_epoch_reproduces_the_uninterrupted_run()
    {
        var data = TestBundles.Images(200);
        string dir = TestBundles.TempDir();
        using var straight = ClassifierTrainer.TrainMember(data, TestBundles.Tiny, Quick, member: 1);
        // Interrupted run: stops during epoch 2, after epoch 1's checkpoint was written.
        string ckpt = Path.Combine(dir, "c");
        var options = Quick with { CheckpointDir = ckpt };
        FluentActions.Invoking(() => ClassifierTrainer.TrainMember(data, TestBundles.Tiny, options, member: 1, new StopAfter(1)))
            .Should().Throw<OperationCanceledException>();
        TensorFile.Load(Path.Combine(ckpt, "member1.ckpt")).Meta["epoch"]!.GetValue<int>().Should().Be(1);
        var resumed = ClassifierTrainer.TrainMember(data, TestBundles.Tiny, options with { Resume = true }, member: 1);
        using (resumed)
        {
            var a = straight.parameters().ToArray();
            var b = resumed.parameters().ToArray();
            for (int i = 0; i < a.Length; i++) a[i].allclose(b[i], rtol: 1e-5, atol: 1e-6).Should().BeTrue($"parameter {i} differs");
        }
        var meta = TensorFile.Load(Path.Combine(ckpt, "member1.ckpt")).Meta;
        meta["epoch"]!.GetValue<int>().Should().Be(2);
    }

    [Fact]
    public void Resume_with_another_config_is_a_mismatch()
    {
        var data = TestBundles.Images(64);
        string ckpt = Path.Combine(TestBundles.TempDir(), "c");
        using (ClassifierTrainer.TrainMember(data, TestBundles.Tiny, Quick with { Epochs = 1, CheckpointDir = ckpt }, 0)) { }
        FluentActions.Invoking(() => ClassifierTrainer.TrainMember(data, TestBundles.Tiny with { FeatureDim = 8 },
                Quick with { Epochs = 1, CheckpointDir = ckpt, Resume = true }, 0))
            .Should().Throw<CheckpointMismatchException>().Which.Message.Should().Contain("member0.ckpt");
    }

    [Fact]
    public void Training_the_epistemic_head_leaves_the_classifier_predictions_bit_identical()
    {
        using var bundle = TestBundles.Random(members: 3, head: false);
        var data = TestBundles.Images(256, offset: 1000);
        using var scope = NewDisposeScope();
        var x = ImageBatches.Images(data, Enumerable.Range(0, 64).ToArray());
        Tensor before, beforeFeatures;
        using (inference_mode()) { before = bundle.MemberLogits(x).clone(); beforeFeatures = bundle.Features(x).clone(); }
        var paramsBefore = bundle.Members.SelectMany(m => m.parameters()).Select(p => p.detach().clone()).ToArray();

        var r = BatchInference.Run(bundle, data, keepFeatures: true);
        var head = EpistemicHeadTrainer.Fit(r.Features!, r.Logits, r.Signals[SignalKind.MutualInformation],
            TestBundles.Tiny.FeatureDim, 10, new EpistemicHeadTrainer.Options(Epochs: 3, Hidden: 8));
        using var withHead = new ClassifierBundle(bundle.Config, bundle.ClassNames, bundle.Members, head, null, bundle.Card);

        using (inference_mode())
        {
            withHead.MemberLogits(x).equal(before).all().item<bool>().Should().BeTrue("the head must not change any member's logits");
            withHead.Features(x).equal(beforeFeatures).all().item<bool>().Should().BeTrue();
            using var o = withHead.Forward(x);
            o.MemberLogits.equal(before).all().item<bool>().Should().BeTrue();
            withHead.HeadScore(o.Features, o.Logits).shape.Should().Equal([64L]);
        }
        var paramsAfter = withHead.Members.SelectMany(m => m.parameters()).ToArray();
        for (int i = 0; i < paramsBefore.Length; i++) paramsAfter[i].equal(paramsBefore[i]).all().item<bool>().Should().BeTrue();
    }

    /// <summary>Simulates an interruption: throws once the given epoch has finished its last step.</summary>
    private sealed class StopAfter(int epoch) : ITrainingProgress
    {
        public void Report(TrainingStep s)
        {
            if (s.Epoch > epoch) throw new OperationCanceledException("interrupted");
        }
    }
}
