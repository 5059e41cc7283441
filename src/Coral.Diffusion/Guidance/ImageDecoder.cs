using static TorchSharp.torch;

namespace Coral.Diffusion.Guidance;

/// <summary>
/// Maps the diffusion model's clean estimate x̂0 to the classifier's input (images in [0, 1], channel-first).
/// The seam of Algorithm 1's decoder D: identity-plus-rescale for a pixel-space model; a latent model
/// plugs in its VAE decoder here. Must stay differentiable w.r.t. its input.
/// </summary>
public interface IImageDecoder
{
    /// <summary>x̂0 in model space [B, ...] → images [B, C, H, W] in [0, 1] at the classifier's size.</summary>
    Tensor Decode(Tensor x0);
}

/// <summary>
/// Pixel-space decoder: x01 = (x + 1)/2, clamped to [0, 1] with a straight-through gradient (early x̂0
/// overshoot the range; a plain clamp would zero their gradient), resized bilinearly when the classifier's
/// size differs from the model's.
/// </summary>
public sealed class PixelDecoder(int height, int width) : IImageDecoder
{
    public int Height { get; } = height;
    public int Width { get; } = width;

    public Tensor Decode(Tensor x0)
    {
        using var scope = NewDisposeScope();
        var x = (x0 + 1) / 2;
        x = x + (x.clamp(0, 1) - x).detach();
        if (x.shape[2] != Height || x.shape[3] != Width)
            x = nn.functional.interpolate(x, [Height, Width], mode: InterpolationMode.Bilinear, align_corners: false);
        return x.MoveToOuterDisposeScope();
    }
}
