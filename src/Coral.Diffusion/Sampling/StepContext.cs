using static TorchSharp.torch;

namespace Coral.Diffusion.Sampling;

/// <summary>
/// What a sampler knows at one reverse step, handed to the ε-hook (which may return a replacement ε̂) and to
/// the observer. Tensors are [B, C, H, W] in the diffusion range [-1, 1] and belong to the sampler's scope:
/// copy what you keep.
/// </summary>
public sealed record StepContext
{
    /// <summary>0 for the first (noisiest) step.</summary>
    public required int StepIndex { get; init; }
    public required int StepCount { get; init; }
    /// <summary>Integer timestep t of x_t.</summary>
    public required int Timestep { get; init; }
    /// <summary>Timestep the step moves to (−1 = clean data).</summary>
    public required int PreviousTimestep { get; init; }
    public required double AlphaBar { get; init; }
    /// <summary>ᾱ of <see cref="PreviousTimestep"/> (1 at the last step).</summary>
    public required double AlphaBarPrevious { get; init; }
    public required Tensor Xt { get; init; }
    /// <summary>Guided ε̂(x_t) (after the hook when seen by the observer).</summary>
    public required Tensor Epsilon { get; init; }
    /// <summary>x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t, unclipped.</summary>
    public required Tensor X0 { get; init; }
    public required Tensor Labels { get; init; }
    public required double GuidanceScale { get; init; }
    /// <summary>Recomputes the guided ε̂ for another x at this step's t and labels (autograd-friendly: call it under enable_grad).</summary>
    public required Func<Tensor, Tensor> Denoise { get; init; }
}
