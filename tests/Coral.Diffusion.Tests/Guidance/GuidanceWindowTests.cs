using Coral.Ml.Classification;
using Coral.Diffusion.Guidance;
using Coral.Ml;
using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests.Guidance;

/// <summary>The guidance window (GuideTMax / GuideTMin) and the cosine fine-tuning schedule.</summary>
public class GuidanceWindowTests
{
    [Fact]
    public void Window_selects_steps_by_timestep_as_a_fraction_of_the_schedule()
    {
        var o = Ltg.Plain with { Weight = 1, GuideTMax = 0.15 };
        // T = 1000: t ≤ 0.15·999 = 149.85.
        o.IsGuidedStep(0, 149, 1000).Should().BeTrue();
        o.IsGuidedStep(0, 150, 1000).Should().BeFalse();
        o.IsGuidedStep(0, 0, 1000).Should().BeTrue();
        var band = Ltg.Plain with { Weight = 1, GuideTMin = 0.1, GuideTMax = 0.2 };
        band.IsGuidedStep(0, 50, 1000).Should().BeFalse();
        band.IsGuidedStep(0, 150, 1000).Should().BeTrue();
        band.IsGuidedStep(0, 250, 1000).Should().BeFalse();
        // Combines with guide-every, and w = 0 never guides.
        (Ltg.Plain with { Weight = 1, GuideEvery = 2, GuideTMax = 0.5 }).IsGuidedStep(1, 10, 1000).Should().BeFalse();
        (Ltg.Plain with { Weight = 0 }).IsGuidedStep(0, 10, 1000).Should().BeFalse();
        // The defaults guide the mid-to-low-noise steps only: t ≤ 0.6·999 = 599.4.
        var d = new LtgOptions();
        Enumerable.Range(0, 600).Should().OnlyContain(t => d.IsGuidedStep(0, t, 1000));
        Enumerable.Range(600, 400).Should().NotContain(t => d.IsGuidedStep(0, t, 1000));
        (Ltg.Plain with { Weight = 1 }).IsGuidedStep(0, 999, 1000).Should().BeTrue("GuideTMax = 1 guides every step");
    }

    [Fact]
    public void Apply_leaves_eps_untouched_above_the_window_and_guides_below_it()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(5);
        using var xt = randn(2, 1, 8, 8);
        using var eps = randn(2, 1, 8, 8);
        using var a = randn(1, 1, 8, 8);
        var signal = new LinearSignal(a);
        var g = new LongtailGuidance(signal, new PixelDecoder(8, 8), Ltg.Plain with { Weight = 1, GuideTMax = 0.4 }, totalTimesteps: 50);
        // 0.4·49 = 19.6
        g.Apply(xt, 20, 0.5, eps, 0).Should().BeSameAs(eps);
        signal.Calls.Should().Be(0);
        using var guided = g.Apply(xt, 19, 0.5, eps, 0);
        guided.Should().NotBeSameAs(eps);
        (guided - eps).abs().max().item<float>().Should().BeGreaterThan(0);
        signal.Calls.Should().Be(1);
    }

    [Fact]
    public void Generator_guides_only_the_steps_inside_the_window_and_the_full_window_is_the_old_behaviour()
    {
        using var model = TinyModels.Diffusion();   // T = 50
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var o = Ltg.Plain with { Weight = 1, Steps = 5, BatchSize = 4, Signal = SignalKind.Entropy };
        var r = new LtgRequest { ClassIndex = 1, Count = 2, Options = o, Seed = 4 };
        var plan = LongtailGenerator.Timesteps(50, o, fromSource: false);   // 49, 37, 24, 12, 0
        var all = gen.Generate(r);
        all.GuidedSteps.Should().Be(plan.Length);
        var late = gen.Generate(r with { Options = o with { GuideTMax = 0.5 } });
        late.GuidedSteps.Should().Be(plan.Count(t => t <= 0.5 * 49));
        late.GuidedSteps.Should().BeLessThan(all.GuidedSteps).And.BeGreaterThan(0);
        var early = gen.Generate(r with { Options = o with { GuideTMin = 0.5 } });
        early.GuidedSteps.Should().Be(plan.Count(t => t >= 0.5 * 49));
        // Explicit full window = default options, bit for bit.
        var full = gen.Generate(r with { Options = o with { GuideTMax = 1, GuideTMin = 0 } });
        full.Images.Zip(all.Images).Should().OnlyContain(p => p.First.Data.SequenceEqual(p.Second.Data));
        // A window that skips the first steps changes the images compared with guiding all of them.
        late.Images.Zip(all.Images).Any(p => !p.First.Data.SequenceEqual(p.Second.Data)).Should().BeTrue();
    }

    [Theory]
    [InlineData(1.5, 0.0, "guide-t-max")]
    [InlineData(-0.1, 0.0, "guide-t-max")]
    [InlineData(double.NaN, 0.0, "guide-t-max")]
    [InlineData(0.3, 0.5, "guide-t-min")]
    [InlineData(0.3, -0.1, "guide-t-min")]
    public void Bad_window_is_an_input_error_naming_the_option(double tMax, double tMin, string name)
    {
        var act = () => (Ltg.Plain with { GuideTMax = tMax, GuideTMin = tMin }).Validate();
        act.Should().Throw<DiffusionInputException>().Which.Input.Should().Be(name);
    }

    [Fact]
    public void Cosine_fine_tuning_rate_decays_from_lr_to_zero_and_constant_stays_put()
    {
        var cos = new FineTuning.Options(LearningRate: 1e-3, Cosine: true);
        FineTuning.LearningRateAt(cos, 0, 101).Should().BeApproximately(1e-3, 1e-12);
        FineTuning.LearningRateAt(cos, 50, 101).Should().BeApproximately(5e-4, 1e-12);
        FineTuning.LearningRateAt(cos, 100, 101).Should().BeApproximately(0, 1e-12);
        var constant = new FineTuning.Options(LearningRate: 1e-3);
        FineTuning.LearningRateAt(constant, 100, 101).Should().Be(1e-3);
    }
}
