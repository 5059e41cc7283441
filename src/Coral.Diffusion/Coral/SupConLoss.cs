using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Contrastive;

/// <summary>
/// Supervised contrastive loss, Khosla et al. 2020 L^sup_out: for anchor i with positives P(i) (same label, j ≠ i),
/// ℓ_i = −1/|P(i)| Σ_{p∈P(i)} log( exp(z_i·z_p/τ) / Σ_{a≠i} exp(z_i·z_a/τ) ).
/// Anchors without a positive in the batch contribute nothing.
/// </summary>
public static class SupConLoss
{
    /// <summary>Per-anchor loss ℓ_i [B] and a mask of anchors that had at least one positive [B].</summary>
    public static (Tensor Loss, Tensor HasPositive) PerAnchor(Tensor z, Tensor labels, double temperature)
    {
        using var scope = NewDisposeScope();
        long n = z.shape[0];
        var sim = z.matmul(z.t()) / temperature;
        // Subtracting the row max changes nothing mathematically and keeps exp finite.
        sim = sim - sim.max(1, keepdim: true).values.detach();
        var notSelf = ones(n, n, ScalarType.Bool).logical_xor(eye(n, dtype: ScalarType.Bool));
        var y = labels.view(-1, 1);
        var positive = y.eq(y.t()).logical_and(notSelf).to(ScalarType.Float32);
        var denom = (sim.exp() * notSelf.to(ScalarType.Float32)).sum(1, keepdim: true);
        var logProb = sim - denom.log();
        var posCount = positive.sum(1);
        var loss = -(positive * logProb).sum(1) / posCount.clamp_min(1);
        var has = posCount.gt(0);
        return (loss.MoveToOuterDisposeScope(), has.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// CORAL term: mean over valid anchors of λ(t_i)·ℓ_i. Samples whose label was dropped (<paramref name="keep"/> false)
    /// are removed before the loss, so they are neither anchors nor negatives. Returns a scalar (0 if no anchor).
    /// </summary>
    public static Tensor Weighted(Tensor z, Tensor labels, Tensor keep, Tensor lambda, double temperature)
    {
        using var scope = NewDisposeScope();
        var idx = keep.nonzero().view(-1);
        if (idx.shape[0] < 2) return zeros(1, dtype: z.dtype).sum().MoveToOuterDisposeScope();
        var (loss, has) = PerAnchor(z.index_select(0, idx), labels.index_select(0, idx), temperature);
        var w = lambda.index_select(0, idx) * has.to(ScalarType.Float32);
        var count = has.sum().clamp_min(1).to(ScalarType.Float32);
        return ((w * loss).sum() / count).MoveToOuterDisposeScope();
    }
}
