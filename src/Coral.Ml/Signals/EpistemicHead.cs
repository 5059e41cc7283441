using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Coral.Ml.Signals;

/// <summary>
/// The epistemic head: a light MLP beside the frozen classifier. It reads the classifier's penultimate
/// features and log-probabilities (one forward pass) and estimates the ensemble's mutual information.
/// It has its own parameters only, so the classifier's logits are untouched.
/// </summary>
public sealed class EpistemicHead : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear fc1, fc2;
    // Typical target size (mean ensemble MI on the training set): the MLP works in O(1) units and the
    // output is rescaled to nats. Without it softplus must reach ~1e-3 where its gradient vanishes.
    private readonly Tensor scale;

    public EpistemicHead(int featureDim, int numClasses, int hidden = 64) : base(nameof(EpistemicHead))
    {
        FeatureDim = featureDim; NumClasses = numClasses; Hidden = hidden;
        fc1 = nn.Linear(featureDim + numClasses, hidden);
        fc2 = nn.Linear(hidden, 1);
        scale = torch.ones(1);
        register_buffer("scale", scale);
        RegisterComponents();
    }

    public int FeatureDim { get; }
    public int NumClasses { get; }
    public int Hidden { get; }

    /// <summary>Output unit in nats (set by the trainer before fitting).</summary>
    public float Scale
    {
        get => scale.item<float>();
        set { using var _ = torch.no_grad(); scale.fill_(value); }
    }

    /// <summary>features [B, F], logits [B, C] → estimated mutual information [B] (≥ 0, softplus).</summary>
    public override Tensor forward(Tensor features, Tensor logits)
    {
        using var scope = NewDisposeScope();
        var x = cat([features, logits.log_softmax(-1)], 1);
        return (F.softplus(fc2.forward(F.relu(fc1.forward(x)))).squeeze(1) * scale).MoveToOuterDisposeScope();
    }
}
