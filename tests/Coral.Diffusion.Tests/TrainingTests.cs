using Coral.Diffusion.Training;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests;

public class TrainingTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Train_steps_give_finite_losses(bool coral)
    {
        var (x, y) = TestNets.Data();
        using var _ = x;
        var dir = Directory.CreateTempSubdirectory("coral-train-").FullName;
        using var trainer = new DiffusionTrainer(TestNets.TinyOptions(coral), x, y, dir);
        for (int s = 0; s < 3; s++)
        {
            var (l, d, c) = trainer.TrainStep(s);
            double.IsFinite(l).Should().BeTrue($"loss at step {s} (diff {d}, coral {c})");
            if (coral) c.Should().BeGreaterThan(0);
        }
    }
}
