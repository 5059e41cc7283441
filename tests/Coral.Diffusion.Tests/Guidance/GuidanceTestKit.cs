using Coral.Diffusion.Guidance;
using Coral.Diffusion.Networks;
using Coral.Diffusion.Schedule;
using Coral.Ml;
using Coral.Ml.Classification;
using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests.Guidance;

/// <summary>s(x) = Σ a·x over each image: its gradient w.r.t. the [0, 1] image is exactly a.</summary>
internal sealed class LinearSignal(Tensor a) : ILongtailSignal
{
    public string Name => "linear-test";
    public SignalKind Kind => SignalKind.Entropy;
    public int Calls { get; private set; }

    public Tensor Compute(Tensor images)
    {
        Calls++;
        using var scope = NewDisposeScope();
        return (images * a).sum([1, 2, 3]).MoveToOuterDisposeScope();
    }
}

/// <summary>Options that guide every step and keep every candidate: the sampler's mechanics without the shipped window and filter.</summary>
internal static class Ltg
{
    public static readonly LtgOptions Plain = new() { GuideTMax = 1, Oversample = 1 };
}

/// <summary>Tiny random models: an 8×8 3-class U-Net and a 2-member 8×8 classifier bundle with an epistemic head.</summary>
internal static class TinyModels
{
    public static DiffusionModel Diffusion(int seed = 11)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(seed);
        var net = new UNet(TestNets.Tiny);
        return new DiffusionModel(net, new GaussianDiffusion(BetaSchedule.Linear, 50),
            ["a", "b", "c"]);
    }

    public static ClassifierBundle Classifier(int seed = 12, int height = 8)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(seed);
        var cfg = new CnnConfig(1, height, height, 3, Conv1: 4, Conv2: 8, FeatureDim: 16);
        var members = new[] { new SmallCnn(cfg), new SmallCnn(cfg) };
        var head = new EpistemicHead(cfg.FeatureDim, cfg.NumClasses, 8);
        return new ClassifierBundle(cfg, ["a", "b", "c"], members, head, null, new ModelCard());
    }
}
