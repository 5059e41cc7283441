using Coral.Diffusion.Contrastive;
using Coral.Diffusion.Networks;
using Coral.Diffusion.Training;
using Coral.Ml;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests;

/// <summary>Tiny shapes so every test runs in well under a second of compute.</summary>
internal static class TestNets
{
    public static UNetConfig Tiny => new() { Resolution = 8, BaseChannels = 8, Multipliers = [1, 2], NumClasses = 3, Dropout = 0.1 };

    public static TrainOptions TinyOptions(bool coral, int steps = 4, int seed = 1) => new()
    {
        Steps = steps, BatchSize = 12, Seed = seed, Timesteps = 50, WarmupSteps = 2, CheckpointEvery = 2,
        Network = Tiny, Coral = new CoralOptions { Enabled = coral, ProjectionDim = 8 },
    };

    /// <summary>Random images in [-1, 1] with balanced labels 0..2.</summary>
    public static (Tensor Images, int[] Labels) Data(int n = 24)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(123);
        var x = rand(n, 1, 8, 8) * 2 - 1;
        return (x, Enumerable.Range(0, n).Select(i => i % 3).ToArray());
    }
}

internal static class TestSetup
{
    /// <summary>One torch thread: on this shared 2-core machine, intra-op threads spin against each other and run 10× slower.</summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Init()
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
    }
}
