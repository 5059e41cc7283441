using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Common;

/// <summary>
/// Training-time degradations like those a small diffusion sampler leaves (soft edges, faint speckle), so a judge
/// trained on real images does not call a slightly soft but recognisable sample "wrong class". Half of each batch is
/// blurred (one Gaussian σ per batch, drawn in [0.3, 1.2] px); every image gets additive noise with its own σ in [0, 0.05].
/// Uses torch's global RNG, which the trainer seeds per member, so runs stay reproducible.
/// </summary>
public static class SamplerDegradations
{
    public const double MaxBlurSigma = 1.2;
    public const double MaxNoiseSigma = 0.05;

    /// <summary>Degraded copy of <paramref name="x01"/> [B, C, H, W] in [0, 1].</summary>
    public static Tensor Apply(Tensor x01)
    {
        using var scope = NewDisposeScope();
        long b = x01.shape[0], c = x01.shape[1];
        double sigma = 0.3 + (MaxBlurSigma - 0.3) * rand(1).item<float>();
        var blurred = nn.functional.conv2d(nn.functional.pad(x01, [2, 2, 2, 2], PaddingModes.Replicate),
            GaussianKernel(sigma, c), groups: c);
        var pick = rand(b).lt(0.5).view(b, 1, 1, 1);
        var y = where(pick, blurred, x01);
        var noiseSigma = rand(b, 1, 1, 1) * MaxNoiseSigma;
        return (y + randn_like(y) * noiseSigma).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Depthwise 5×5 Gaussian kernel [C, 1, 5, 5].</summary>
    private static Tensor GaussianKernel(double sigma, long channels)
    {
        var g = new float[5];
        for (int i = 0; i < 5; i++) g[i] = (float)Math.Exp(-((i - 2) * (i - 2)) / (2 * sigma * sigma));
        float sum = g.Sum();
        var k = new float[25];
        for (int i = 0; i < 5; i++) for (int j = 0; j < 5; j++) k[i * 5 + j] = g[i] * g[j] / (sum * sum);
        return tensor(k, [1, 1, 5, 5]).expand(channels, 1, 5, 5).contiguous();
    }
}
