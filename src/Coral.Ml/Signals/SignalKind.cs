namespace Coral.Ml.Signals;

/// <summary>The longtail signals a bundle can compute; all are "higher = more longtail".</summary>
public enum SignalKind
{
    /// <summary>Deep-ensemble mutual information (BALD), K forward passes.</summary>
    MutualInformation,
    /// <summary>Predictive entropy of the deployed classifier (member 0).</summary>
    Entropy,
    /// <summary>Energy −logsumexp(logits) of the deployed classifier.</summary>
    Energy,
    /// <summary>The epistemic head's estimate of the mutual information, one forward pass.</summary>
    EpistemicHead,
    /// <summary>Smallest squared Mahalanobis distance of member 0's layer features to a training class mean; the out-of-domain score.</summary>
    FeatureDistance,
}
