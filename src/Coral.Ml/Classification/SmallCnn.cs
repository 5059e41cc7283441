using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Coral.Ml.Classification;

/// <summary>Shape of the small CNN; stored in every checkpoint and compared on load.</summary>
public sealed record CnnConfig(int Channels, int Height, int Width, int NumClasses,
    int Conv1 = 16, int Conv2 = 32, int FeatureDim = 64)
{
    public static CnnConfig FashionMnist(int numClasses = 10) => new(1, 28, 28, numClasses);

    /// <summary>Width of <see cref="SmallCnn.DomainFeatures"/>: one mean per channel of the three conv blocks, then the penultimate features.</summary>
    public int DomainFeatureDim => Conv1 + 2 * Conv2 + FeatureDim;

    /// <summary>Multiply-adds ×2 of one forward pass, for achieved-GFLOP/s reports.</summary>
    public double FlopsPerImage()
    {
        double h2 = Height / 2, w2 = Width / 2, h4 = Height / 4, w4 = Width / 4;
        double conv1 = Height * Width * Conv1 * Channels * 9.0;
        double conv2 = h2 * w2 * Conv2 * Conv1 * 9.0;
        double conv3 = h4 * w4 * Conv2 * Conv2 * 9.0;
        double fc = Conv2 * SmallCnn.PoolCells * FeatureDim + FeatureDim * NumClasses;
        return 2 * (conv1 + conv2 + conv3 + fc);
    }
}

/// <summary>
/// conv3x3-BN → pool → conv3x3-BN → pool → conv3x3-BN → adaptive 2×2 pool → fc (penultimate features) → fc (logits).
/// BatchNorm makes a few epochs enough; in eval mode it is a fixed affine map (running statistics).
/// Works for 28×28 grayscale and 32×32 RGB (any size ≥ 8, thanks to the adaptive pool).
/// </summary>
public sealed class SmallCnn : nn.Module<Tensor, Tensor>
{
    internal const int PoolCells = 4; // 2×2 adaptive pool keeps coarse layout at tiny cost
    private readonly Conv2d conv1, conv2, conv3;
    private readonly CounterSafeBatchNorm2d bn1, bn2, bn3;
    private readonly Linear fc1, fc2;

    public SmallCnn(CnnConfig config) : base(nameof(SmallCnn))
    {
        Config = config;
        conv1 = nn.Conv2d(config.Channels, config.Conv1, 3, padding: 1);
        conv2 = nn.Conv2d(config.Conv1, config.Conv2, 3, padding: 1);
        conv3 = nn.Conv2d(config.Conv2, config.Conv2, 3, padding: 1);
        bn1 = new CounterSafeBatchNorm2d(config.Conv1);
        bn2 = new CounterSafeBatchNorm2d(config.Conv2);
        bn3 = new CounterSafeBatchNorm2d(config.Conv2);
        fc1 = nn.Linear(config.Conv2 * PoolCells, config.FeatureDim);
        fc2 = nn.Linear(config.FeatureDim, config.NumClasses);
        RegisterComponents();
    }

    public CnnConfig Config { get; }

    /// <summary>Penultimate features [B, FeatureDim] (after ReLU).</summary>
    public Tensor Features(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = F.max_pool2d(F.relu(bn1.forward(conv1.forward(x))), 2);
        h = F.max_pool2d(F.relu(bn2.forward(conv2.forward(h))), 2);
        h = F.adaptive_avg_pool2d(F.relu(bn3.forward(conv3.forward(h))), [2, 2]);
        return F.relu(fc1.forward(h.flatten(1))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// What the out-of-domain score reads [B, <see cref="CnnConfig.DomainFeatureDim"/>]: the per-channel means of each
    /// conv block's activations (texture and contrast, which noise or a flat frame lack), then the penultimate features
    /// (the last <see cref="CnnConfig.FeatureDim"/> columns, equal to <see cref="Features"/>).
    /// </summary>
    public Tensor DomainFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        var a1 = F.relu(bn1.forward(conv1.forward(x)));
        var a2 = F.relu(bn2.forward(conv2.forward(F.max_pool2d(a1, 2))));
        var a3 = F.relu(bn3.forward(conv3.forward(F.max_pool2d(a2, 2))));
        var f = F.relu(fc1.forward(F.adaptive_avg_pool2d(a3, [2, 2]).flatten(1)));
        return cat([a1.mean([2, 3]), a2.mean([2, 3]), a3.mean([2, 3]), f], 1).MoveToOuterDisposeScope();
    }

    /// <summary>Logits from features: the classifier's last layer.</summary>
    public Tensor Classify(Tensor features) => fc2.forward(features);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Classify(Features(x)).MoveToOuterDisposeScope();
    }
}
