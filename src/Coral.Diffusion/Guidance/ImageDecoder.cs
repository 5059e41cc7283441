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
/// overshoot the range; a plain clamp would zero their gradient). No resizing: the diffusion model and the
/// classifier work at the data's own size, and a shape mismatch is refused when the generator is built.
/// </summary>
public sealed class PixelDecoder(int height, int width) : IImageDecoder
{
    public int Height { get; } = height;
    public int Width { get; } = width;

    public Tensor Decode(Tensor x0)
    {
        using var scope = NewDisposeScope();
        if (x0.shape[2] != Height || x0.shape[3] != Width)
            throw new DiffusionInputException("x0", $"is {x0.shape[2]}x{x0.shape[3]}, the classifier takes {Height}x{Width}");
        var x = (x0 + 1) / 2;
        x = x + (x.clamp(0, 1) - x).detach();
        return x.MoveToOuterDisposeScope();
    }
}
