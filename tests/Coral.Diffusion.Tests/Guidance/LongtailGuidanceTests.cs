using Coral.Diffusion.Guidance;
using Coral.Ml;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests.Guidance;

public class LongtailGuidanceTests
{
    private const double AlphaBar = 0.64;   // √ᾱ = 0.8, √(1−ᾱ) = 0.6

    private static (Tensor Xt, Tensor Eps, Tensor A) Inputs()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(7);
        // x_t small enough that x̂0 stays inside [-1, 1] is not required: the decoder's clamp is straight-through.
        return (randn(2, 1, 8, 8), randn(2, 1, 8, 8), randn(1, 1, 8, 8));
    }

    [Fact]
    public void One_guided_step_moves_eps_by_minus_w_sqrt_one_minus_alphabar_times_grad()
    {
        var (xt, eps, a) = Inputs();
        const double w = 2.5;
        var g = new LongtailGuidance(new LinearSignal(a), new PixelDecoder(8, 8),
            new LtgOptions { Weight = w, Normalization = GradientNormalization.None });
        using var guided = g.Apply(xt, 10, AlphaBar, eps, 0);
        // x01 = (x̂0 + 1)/2 and x̂0 = (x_t − √(1−ᾱ)ε̂)/√ᾱ: ∇_{x_t} s = a / (2√ᾱ).
        var grad = a / (2 * Math.Sqrt(AlphaBar));
        var expected = eps - w * Math.Sqrt(1 - AlphaBar) * grad;
        (guided - expected).abs().max().item<float>().Should().BeLessThan(1e-5f);
        // Sign: the bias lowers ε̂ along +∇s, so x̂0 = (x_t − √(1−ᾱ)ε̂')/√ᾱ moves towards higher signal.
        var x0Before = (xt - 0.6 * eps) / 0.8;
        var x0After = (xt - 0.6 * guided) / 0.8;
        ((x0After - x0Before) * a).sum().item<float>().Should().BeGreaterThan(0);
    }

    [Fact]
    public void Gradient_through_the_denoiser_includes_the_denoiser_jacobian()
    {
        var (xt, _, a) = Inputs();
        const double w = 1.0, c = 0.5;
        Func<Tensor, Tensor> denoiser = x => c * x;   // ε̂(x) = c·x, so ∂x̂0/∂x_t = (1 − √(1−ᾱ)c)/√ᾱ
        using var eps = denoiser(xt).detach();
        var g = new LongtailGuidance(new LinearSignal(a), new PixelDecoder(8, 8),
            new LtgOptions { Weight = w, Normalization = GradientNormalization.None, Gradient = GradientPath.ThroughDenoiser });
        using var guided = g.Apply(xt, 10, AlphaBar, eps, 0, denoiser);
        var grad = a / 2 * ((1 - Math.Sqrt(1 - AlphaBar) * c) / Math.Sqrt(AlphaBar));
        var expected = eps - w * Math.Sqrt(1 - AlphaBar) * grad;
        (guided - expected).abs().max().item<float>().Should().BeLessThan(1e-5f);
    }

    [Fact]
    public void Unit_rms_normalisation_gives_a_bias_of_size_w_sqrt_one_minus_alphabar()
    {
        var (xt, eps, a) = Inputs();
        const double w = 0.3;
        var g = new LongtailGuidance(new LinearSignal(a), new PixelDecoder(8, 8), new LtgOptions { Weight = w });
        using var guided = g.Apply(xt, 10, AlphaBar, eps, 0);
        var bias = (eps - guided) / (w * Math.Sqrt(1 - AlphaBar));
        var rms = bias.flatten(1).pow(2).mean([1]).sqrt();
        (rms - 1).abs().max().item<float>().Should().BeLessThan(1e-4f);
        // Same direction as the raw gradient a.
        var cos = (bias[0].flatten() * a.flatten()).sum() / (bias[0].norm() * a.norm());
        cos.item<float>().Should().BeGreaterThan(0.9999f);
    }

    [Fact]
    public void Weight_zero_and_unguided_steps_return_eps_untouched()
    {
        var (xt, eps, a) = Inputs();
        var signal = new LinearSignal(a);
        var off = new LongtailGuidance(signal, new PixelDecoder(8, 8), new LtgOptions { Weight = 0 });
        off.Apply(xt, 10, AlphaBar, eps, 0).Should().BeSameAs(eps);
        var every3 = new LongtailGuidance(signal, new PixelDecoder(8, 8), new LtgOptions { Weight = 1, GuideEvery = 3 });
        var guidedSteps = Enumerable.Range(0, 10).Where(i => !ReferenceEquals(every3.Apply(xt, 10, AlphaBar, eps, i), eps)).ToArray();
        guidedSteps.Should().Equal(0, 3, 6, 9);
        signal.Calls.Should().Be(4);
    }

    [Fact]
    public void Works_inside_inference_mode()
    {
        var (xt, eps, a) = Inputs();
        var g = new LongtailGuidance(new LinearSignal(a), new PixelDecoder(8, 8), new LtgOptions { Weight = 1, Normalization = GradientNormalization.None });
        using var mode = inference_mode();
        using var guided = g.Apply(xt, 10, AlphaBar, eps, 0);
        (guided - eps).abs().max().item<float>().Should().BeGreaterThan(0);
    }
}
