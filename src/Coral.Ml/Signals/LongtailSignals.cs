using Coral.Ml.Classification;
using static TorchSharp.torch;

namespace Coral.Ml.Signals;

/// <summary>
/// A per-image signal that guidance can push up: images [B, C, H, W] in [0, 1] → [B]. Differentiable w.r.t. the
/// images (no inference/no-grad mode inside), so Longtail Guidance can take its gradient.
/// </summary>
public interface IGuidanceSignal
{
    string Name { get; }
    Tensor Compute(Tensor images);
}

/// <summary>A longtail signal f_lt: higher = more longtail; computed by scoring too, so it needs no class.</summary>
public interface ILongtailSignal : IGuidanceSignal
{
    SignalKind Kind { get; }
}

/// <summary>
/// The guide ensemble's cross-entropy for a fixed target class: −log mean_k p_k(c | x), in nats. Higher = the classifier
/// is more wrong about class c. Not a longtail signal (it needs the class, which an incoming image does not have); guidance
/// only, where the diffusion model is conditioned on c and its own filter keeps the class.
/// </summary>
public sealed class TargetClassLoss : IGuidanceSignal
{
    public const string SignalName = "class-loss";
    private readonly ClassifierBundle bundle;

    public TargetClassLoss(ClassifierBundle bundle, int classIndex)
    {
        if (classIndex < 0 || classIndex >= bundle.NumClasses)
            throw new ArgumentOutOfRangeException(nameof(classIndex), classIndex, $"not a class of this classifier (0..{bundle.NumClasses - 1})");
        this.bundle = bundle;
        ClassIndex = classIndex;
    }

    public int ClassIndex { get; }
    public string Name => SignalName;

    public Tensor Compute(Tensor images)
    {
        using var scope = NewDisposeScope();
        return SignalMath.EnsembleClassLoss(bundle.MemberLogits(images), ClassIndex).MoveToOuterDisposeScope();
    }
}

/// <summary>Deep-ensemble mutual information (BALD) over all K members.</summary>
public sealed class EnsembleMutualInformation(ClassifierBundle bundle) : ILongtailSignal
{
    public string Name => LongtailSignals.NameOf(Kind);
    public SignalKind Kind => SignalKind.MutualInformation;

    public Tensor Compute(Tensor images)
    {
        if (bundle.NumMembers < 2) throw new InvalidOperationException("mutual information needs an ensemble of at least 2 members");
        using var scope = NewDisposeScope();
        return SignalMath.MutualInformation(bundle.MemberLogits(images)).MoveToOuterDisposeScope();
    }
}

/// <summary>A signal computed from the deployed classifier's logits alone (one forward pass).</summary>
public abstract class LogitSignal(ClassifierBundle bundle, SignalKind kind) : ILongtailSignal
{
    public string Name => LongtailSignals.NameOf(Kind);
    public SignalKind Kind => kind;

    protected abstract Tensor FromLogits(Tensor logits);

    public Tensor Compute(Tensor images)
    {
        using var scope = NewDisposeScope();
        return FromLogits(bundle.Logits(images)).MoveToOuterDisposeScope();
    }
}

/// <summary>Predictive entropy of the deployed classifier.</summary>
public sealed class PredictiveEntropy(ClassifierBundle bundle) : LogitSignal(bundle, SignalKind.Entropy)
{
    protected override Tensor FromLogits(Tensor logits) => SignalMath.Entropy(logits);
}

/// <summary>Energy −logsumexp(logits) of the deployed classifier.</summary>
public sealed class Energy(ClassifierBundle bundle) : LogitSignal(bundle, SignalKind.Energy)
{
    protected override Tensor FromLogits(Tensor logits) => SignalMath.Energy(logits);
}

/// <summary>A signal read from member 0's one-pass outputs (<see cref="LongtailSignals.FromOutputs"/>), so guidance and scoring compute it the same way.</summary>
public abstract class MemberZeroSignal(ClassifierBundle bundle, SignalKind kind) : ILongtailSignal
{
    public string Name => LongtailSignals.NameOf(Kind);
    public SignalKind Kind => kind;

    public Tensor Compute(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var o = bundle.Forward(images, allMembers: false);
        return LongtailSignals.FromOutputs(kind, bundle, o).MoveToOuterDisposeScope();
    }
}

/// <summary>The epistemic head: one forward pass of member 0 plus the head's MLP.</summary>
public sealed class EpistemicHeadSignal(ClassifierBundle bundle) : MemberZeroSignal(
    bundle.Head is null ? throw new InvalidOperationException("this bundle has no epistemic head") : bundle, SignalKind.EpistemicHead);

/// <summary>Distance from the training data in member 0's feature space (<see cref="Signals.FeatureDistance"/>).</summary>
public sealed class FeatureDistanceSignal(ClassifierBundle bundle) : MemberZeroSignal(
    bundle.Domain is null ? throw new InvalidOperationException("this bundle has no feature-distance model (fit one with coral calibrate)") : bundle, SignalKind.FeatureDistance);

/// <summary>Creates signals by kind or name.</summary>
public static class LongtailSignals
{
    public static ILongtailSignal Create(SignalKind kind, ClassifierBundle bundle) => kind switch
    {
        SignalKind.MutualInformation => new EnsembleMutualInformation(bundle),
        SignalKind.Entropy => new PredictiveEntropy(bundle),
        SignalKind.Energy => new Energy(bundle),
        SignalKind.EpistemicHead => new EpistemicHeadSignal(bundle),
        SignalKind.FeatureDistance => new FeatureDistanceSignal(bundle),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown signal kind"),
    };

    /// <summary>
    /// A signal from outputs already computed by <see cref="ClassifierBundle.Forward"/> (one pass serves every
    /// signal: the scorer and batch evaluation use this; MI needs the outputs of all members).
    /// </summary>
    public static Tensor FromOutputs(SignalKind kind, ClassifierBundle bundle, BundleOutputs o) => kind switch
    {
        SignalKind.MutualInformation => SignalMath.MutualInformation(o.MemberLogits),
        SignalKind.Entropy => SignalMath.Entropy(o.Logits),
        SignalKind.Energy => SignalMath.Energy(o.Logits),
        SignalKind.EpistemicHead => bundle.HeadScore(o.Features, o.Logits),
        SignalKind.FeatureDistance => FeatureDistanceOf(bundle, o.DomainFeatures),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown signal kind"),
    };

    /// <summary>min_k ‖W f − W μ_k‖² of domain features [B, D] → [B] (differentiable in the features).</summary>
    public static Tensor FeatureDistanceOf(ClassifierBundle bundle, Tensor features)
    {
        var d = bundle.Domain ?? throw new InvalidOperationException("this bundle has no feature-distance model");
        using var scope = NewDisposeScope();
        var w = tensor(d.Whiten, [d.Dim, d.Dim]).to(features.device);
        var wm = tensor(d.WhitenedMeans(), [d.Classes, d.Dim]).to(features.device);
        var wf = features.matmul(w.t());
        return (wf.unsqueeze(1) - wm.unsqueeze(0)).pow(2).sum(-1).amin(-1).MoveToOuterDisposeScope();
    }

    /// <summary>The kinds this bundle can compute (MI needs ≥ 2 members, the head needs a head).</summary>
    public static IReadOnlyList<SignalKind> Available(ClassifierBundle bundle) =>
        Enum.GetValues<SignalKind>().Where(k => k switch
        {
            SignalKind.MutualInformation => bundle.NumMembers >= 2,
            SignalKind.EpistemicHead => bundle.Head is not null,
            SignalKind.FeatureDistance => bundle.Domain is not null,
            _ => true,
        }).ToArray();

    public static string NameOf(SignalKind kind) => kind switch
    {
        SignalKind.MutualInformation => "mutual-information",
        SignalKind.Entropy => "entropy",
        SignalKind.Energy => "energy",
        SignalKind.EpistemicHead => "epistemic-head",
        SignalKind.FeatureDistance => "feature-distance",
        _ => kind.ToString(),
    };

    /// <summary>Parses "mutual-information", "mi", "entropy", "energy", "epistemic-head", "head" or an enum name.</summary>
    public static SignalKind Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "mutual-information" or "mi" or "mutualinformation" or "bald" => SignalKind.MutualInformation,
        "entropy" => SignalKind.Entropy,
        "energy" => SignalKind.Energy,
        "epistemic-head" or "head" or "epistemichead" => SignalKind.EpistemicHead,
        "feature-distance" or "featuredistance" or "mahalanobis" => SignalKind.FeatureDistance,
        _ => throw new ArgumentException($"unknown signal '{name}' (use mutual-information, entropy, energy, epistemic-head or feature-distance)", nameof(name)),
    };
}
