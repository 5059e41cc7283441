using static TorchSharp.torch;

namespace Coral.Ml.Signals;

/// <summary>
/// The math of the longtail signals, on logits. Pure tensor functions: differentiable, no grad mode of
/// their own. Every signal is "higher = more longtail". All results are in nats.
/// </summary>
public static class SignalMath
{
    /// <summary>Predictive entropy H[p] = −Σ p log p of softmax(logits [B, C]) → [B].</summary>
    public static Tensor Entropy(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var logp = logits.log_softmax(-1);
        return (-(logp.exp() * logp).sum(-1)).MoveToOuterDisposeScope();
    }

    /// <summary>Energy −logsumexp(logits [B, C]) → [B] (Liu et al. 2020; higher = less familiar).</summary>
    public static Tensor Energy(Tensor logits) => -logits.logsumexp(-1);

    /// <summary>
    /// −log of the ensemble-mean probability of class <paramref name="classIndex"/> from member logits [K, B, C] → [B]
    /// (log-mean-exp of the members' log-probabilities, so no probability underflows).
    /// </summary>
    public static Tensor EnsembleClassLoss(Tensor memberLogits, int classIndex)
    {
        using var scope = NewDisposeScope();
        var logp = memberLogits.log_softmax(-1)[.., .., classIndex];     // [K, B]
        return (-(logp.logsumexp(0) - Math.Log(memberLogits.shape[0]))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Deep-ensemble mutual information (BALD) from member logits [K, B, C] → [B]:
    /// H[mean_k p_k] − mean_k H[p_k]. Zero when all members agree, up to log C.
    /// </summary>
    public static Tensor MutualInformation(Tensor memberLogits)
    {
        using var scope = NewDisposeScope();
        var logp = memberLogits.log_softmax(-1);            // [K, B, C]
        var p = logp.exp();
        var meanP = p.mean([0]);                            // [B, C]
        // Clamp inside the log only: the mean of softmaxes is > 0 anyway, this just guards log(0) in float32.
        var totalH = -(meanP * meanP.clamp_min(1e-30).log()).sum(-1);
        var expectedH = -(p * logp).sum(-1).mean([0]);
        return (totalH - expectedH).clamp_min(0).MoveToOuterDisposeScope();
    }
}
