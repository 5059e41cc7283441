using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Coral.Ml.Classification;

/// <summary>
/// Inference-only view of K eval-mode <see cref="SmallCnn"/> members as ONE wide network: BatchNorm folded
/// into the convolutions, members side by side as conv groups (groups = K) and batched matmuls for the
/// fully connected layers. Same maths as running the members one by one (equal up to float rounding,
/// ~1e-6), but one kernel per layer instead of K small ones, which is what makes the K-pass scorer fast.
/// Holds plain tensors (no parameters); rebuild it if the members change.
/// </summary>
public sealed class FusedEnsemble : IDisposable
{
    private readonly int k, conv2, featureDim;
    private readonly Tensor w1, b1, w2, b2, w3, b3, fc1W, fc1B, fc2W, fc2B;

    public FusedEnsemble(IReadOnlyList<SmallCnn> members)
    {
        if (members.Count == 0) throw new ArgumentException("no members", nameof(members));
        var config = members[0].Config;
        k = members.Count; conv2 = config.Conv2; featureDim = config.FeatureDim;
        // Normal (non-inference) tensors even when first built inside the scorer's inference mode, so a
        // later gradient-mode call can use them too.
        using var normal = torch.inference_mode(false);
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        var states = members.Select(State).ToArray();
        (Tensor W, Tensor B) Folded(int i, string conv, string bn)
        {
            var s = states[i];
            var scale = s[bn + ".weight"] / (s[bn + ".running_var"] + BatchNormEps).sqrt();
            var w = s[conv + ".weight"] * scale.view(-1, 1, 1, 1);
            var b = (s[conv + ".bias"] - s[bn + ".running_mean"]) * scale + s[bn + ".bias"];
            return (w, b);
        }
        (Tensor, Tensor) Stacked(string conv, string bn)
        {
            var parts = Enumerable.Range(0, k).Select(i => Folded(i, conv, bn)).ToArray();
            return (cat(parts.Select(p => p.W).ToArray(), 0).contiguous(), cat(parts.Select(p => p.B).ToArray(), 0).contiguous());
        }
        (w1, b1) = Stacked("conv1", "bn1");
        (w2, b2) = Stacked("conv2", "bn2");
        (w3, b3) = Stacked("conv3", "bn3");
        fc1W = stack(states.Select(s => s["fc1.weight"].t()).ToArray()).contiguous();     // [K, in, F]
        fc1B = stack(states.Select(s => s["fc1.bias"]).ToArray()).unsqueeze(1);            // [K, 1, F]
        fc2W = stack(states.Select(s => s["fc2.weight"].t()).ToArray()).contiguous();     // [K, F, C]
        fc2B = stack(states.Select(s => s["fc2.bias"]).ToArray()).unsqueeze(1);            // [K, 1, C]
        // Owned by this object, not by whatever dispose scope the first caller happens to be in.
        foreach (var t in new[] { w1, b1, w2, b2, w3, b3, fc1W, fc1B, fc2W, fc2B }) t.DetachFromDisposeScope();
    }

    /// <summary>torch's BatchNorm2d default epsilon, which <see cref="SmallCnn"/> uses.</summary>
    private const double BatchNormEps = 1e-5;

    /// <summary>images [B, C, H, W] → member 0's features [B, F] and all members' logits [K, B, C].</summary>
    public (Tensor Features0, Tensor MemberLogits) Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding: [1, 1])), 2);
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding: [1, 1], groups: k)), 2);
        h = F.adaptive_avg_pool2d(F.relu(F.conv2d(h, w3, b3, padding: [1, 1], groups: k)), [2, 2]); // [B, K·c2, 2, 2]
        long b = x.shape[0];
        var perMember = h.reshape(b, k, conv2 * SmallCnn.PoolCells).transpose(0, 1);           // [K, B, c2·4]
        var features = F.relu(perMember.bmm(fc1W) + fc1B);                                    // [K, B, F]
        var logits = features.bmm(fc2W) + fc2B;                                               // [K, B, C]
        return (features[0].MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }

    private static Dictionary<string, Tensor> State(SmallCnn m)
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in m.named_parameters()) d[name] = p.detach();
        foreach (var (name, b) in m.named_buffers()) d[name] = b;
        return d;
    }

    public void Dispose()
    {
        foreach (var t in new[] { w1, b1, w2, b2, w3, b3, fc1W, fc1B, fc2W, fc2B }) t.Dispose();
    }
}
