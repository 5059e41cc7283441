using Coral.Diffusion.Schedule;
using Coral.Ml.Signals;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Guidance;

/// <summary>What one guided step saw and did (for tests and diagnostics).</summary>
public sealed record GuidanceStepInfo(int StepIndex, int Timestep, double AlphaBar, float[] Signal, double MeanGradientRms);

/// <summary>
/// The LTG bias of one sampling step (Algorithm 1 of Hayden et al., steps 1–4):
/// x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t; s = f_lt(D(x̂0)); ε̂' = ε̂ − w·√(1−ᾱ_t)·∇_{x_t} s.
/// Higher s = more longtail, so the minus sign pushes samples towards the long tail (classifier-guidance form:
/// −√(1−ᾱ)·∇log p is what adding ∇ to the score does to ε̂). Stateless apart from its inputs.
/// <paramref name="totalTimesteps"/> is the schedule's T, for the guidance window (<see cref="LtgOptions.GuideTMax"/>).
/// </summary>
public sealed class LongtailGuidance(IGuidanceSignal signal, IImageDecoder decoder, LtgOptions options, int totalTimesteps = 1000)
{
    public IGuidanceSignal Signal { get; } = signal;
    public IImageDecoder Decoder { get; } = decoder;
    public LtgOptions Options { get; } = options;
    public int TotalTimesteps { get; } = totalTimesteps > 0 ? totalTimesteps : throw new ArgumentOutOfRangeException(nameof(totalTimesteps), totalTimesteps, "must be ≥ 1");

    /// <summary>
    /// Returns ε̂' for step <paramref name="stepIndex"/> (ε̂ itself, as the same tensor, when the step is not guided).
    /// <paramref name="denoiser"/> recomputes ε̂(x_t) with a graph (classifier-free guidance included) and is
    /// needed only for <see cref="GradientPath.ThroughDenoiser"/>.
    /// </summary>
    public Tensor Apply(Tensor xt, int timestep, double alphaBar, Tensor eps, int stepIndex,
        Func<Tensor, Tensor>? denoiser = null, Action<GuidanceStepInfo>? observe = null)
    {
        if (!Options.IsGuidedStep(stepIndex, timestep, TotalTimesteps)) return eps;
        using var scope = NewDisposeScope();
        // The sampler may run under inference mode / no_grad; the gradient needs a fresh graph on x_t.
        using var inference = inference_mode(false);
        using var grad = enable_grad();
        var x = xt.detach().clone().requires_grad_(true);
        Tensor epsForX0;
        if (Options.Gradient == GradientPath.ThroughDenoiser)
            epsForX0 = (denoiser ?? throw new InvalidOperationException("gradient through the denoiser needs a denoiser callback"))(x);
        else
            epsForX0 = eps.detach().clone();
        var x0 = GaussianDiffusion.PredictX0(x, epsForX0, alphaBar);
        var s = Signal.Compute(Decoder.Decode(x0));
        var g = autograd.grad([s.sum()], [x])[0].detach();
        var rms = g.flatten(1).pow(2).mean([1]).sqrt();
        if (Options.Normalization == GradientNormalization.UnitRms)
            g = g / rms.clamp_min(1e-12).view(-1, 1, 1, 1);
        var result = eps.detach() - Options.Weight * Math.Sqrt(1 - alphaBar) * g;
        observe?.Invoke(new GuidanceStepInfo(stepIndex, timestep, alphaBar, s.detach().cpu().data<float>().ToArray(), rms.mean().item<float>()));
        return result.MoveToOuterDisposeScope();
    }
}
