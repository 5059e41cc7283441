using Coral.Ml.Classification;
using static TorchSharp.torch;

namespace Coral.Ml.Tests;

/// <summary>The classifier's batch norm is TorchSharp's, except for how it counts steps.</summary>
public class CounterSafeBatchNormTests
{
    [Fact]
    public void It_matches_nn_BatchNorm2d_in_training_and_eval_with_the_same_state_names()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var mine = new CounterSafeBatchNorm2d(4);
        using var theirs = nn.BatchNorm2d(4);
        mine.state_dict().Keys.Should().BeEquivalentTo(theirs.state_dict().Keys, "checkpoints of the classifier load unchanged");
        using (no_grad())
        {
            mine.weight.copy_(rand(4) + 0.5); mine.bias.copy_(randn(4));
            theirs.weight.copy_(mine.weight); theirs.bias.copy_(mine.bias);
        }
        mine.train(); theirs.train();
        for (int step = 0; step < 3; step++)
        {
            var x = randn(8, 4, 5, 5) * 2 + 1;
            mine.forward(x).allclose(theirs.forward(x), 1e-5, 1e-5).Should().BeTrue($"training step {step}");
        }
        mine.running_mean!.allclose(theirs.running_mean!).Should().BeTrue();
        mine.running_var!.allclose(theirs.running_var!).Should().BeTrue();
        mine.num_batches_tracked!.item<long>().Should().Be(3).And.Be(theirs.num_batches_tracked!.item<long>());
        mine.eval(); theirs.eval();
        var y = randn(2, 4, 5, 5);
        mine.forward(y).allclose(theirs.forward(y), 1e-5, 1e-5).Should().BeTrue("eval uses the running statistics");
        mine.num_batches_tracked!.item<long>().Should().Be(3, "eval does not count");
    }
}
