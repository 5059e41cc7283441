using Coral.Ml.Classification;
using Coral.Ml.Common;
using static TorchSharp.torch;

namespace Coral.Ml.Tests;

public class FusedEnsembleTests
{
    [Fact]
    public void Fused_grouped_network_matches_the_members_run_one_by_one()
    {
        var data = TestBundles.Images(96);
        // Briefly trained, so BatchNorm's running statistics and affine terms are not the identity.
        var members = Enumerable.Range(0, 3)
            .Select(m => ClassifierTrainer.TrainMember(data, TestBundles.Tiny, new TrainOptions { Epochs = 1, BatchSize = 32, Seed = 2 }, m)).ToList();
        using var bundle = new ClassifierBundle(TestBundles.Tiny, Enumerable.Range(0, 10).Select(i => $"c{i}").ToArray(), members, null, null, new ModelCard());
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var x = ImageBatches.Images(data, Enumerable.Range(0, 40).ToArray());
        using var exact = bundle.Forward(x);
        using var fused = bundle.Forward(x, fused: true);
        fused.MemberLogits.shape.Should().Equal(exact.MemberLogits.shape);
        fused.MemberLogits.allclose(exact.MemberLogits, rtol: 1e-4, atol: 1e-5).Should().BeTrue();
        fused.Features.allclose(exact.Features, rtol: 1e-4, atol: 1e-5).Should().BeTrue();
        fused.Logits.argmax(-1).equal(exact.Logits.argmax(-1)).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Fused_weights_built_in_inference_mode_still_give_input_gradients()
    {
        using var bundle = TestBundles.Random(members: 2);
        using var scope = NewDisposeScope();
        var x = SignalGradientTests.ImagesOf(3);
        using (inference_mode()) bundle.Forward(x, fused: true).Dispose(); // builds the fused weights here
        var xg = x.clone().requires_grad_(true);
        using var o = bundle.Forward(xg, fused: true);
        Signals.SignalMath.MutualInformation(o.MemberLogits).sum().backward();
        xg.grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
    }
}
