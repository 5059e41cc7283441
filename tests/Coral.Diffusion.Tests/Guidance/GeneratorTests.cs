using Coral.Diffusion.Guidance;
using Coral.Diffusion.Sampling;
using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests.Guidance;

/// <summary>End-to-end on tiny random models: 8×8 U-Net (T = 50), 2-member 8×8 classifier with a head.</summary>
public class GeneratorTests
{
    private static LtgOptions Fast(double w) => Ltg.Plain with { Filter = CandidateFilter.GuideEnsemble, Weight = w, Steps = 5, BatchSize = 4, CfgScale = 1.0, Signal = SignalKind.Entropy };

    private static float MaxDiff(LtgBatch a, LtgBatch b) =>
        a.Images.Zip(b.Images).Max(p => p.First.Data.Zip(p.Second.Data).Max(q => Math.Abs(q.First - q.Second)));

    [Fact]
    public void Same_seed_gives_identical_images_and_records_different_seed_does_not()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var r = new LtgRequest { ClassIndex = 1, Count = 3, Options = Fast(0.5) with { Eta = 0.5 }, Seed = 9 };
        var a = gen.Generate(r);
        var b = gen.Generate(r);
        MaxDiff(a, b).Should().Be(0);
        a.Records.Select(x => x.SignalAfter).Should().Equal(b.Records.Select(x => x.SignalAfter));
        a.Records.Select(x => x.Seed).Should().OnlyHaveUniqueItems();
        MaxDiff(a, gen.Generate(r with { Seed = 10 })).Should().BeGreaterThan(0);
    }

    [Fact]
    public void Weight_zero_reproduces_the_unguided_sampler_bit_exactly_and_guidance_changes_the_images()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var r = new LtgRequest { ClassIndex = 0, Count = 2, Options = Fast(0), Seed = 3 };
        var plain = gen.Generate(r);
        var unguided = UnguidedReference(model, r);
        plain.Images.Zip(unguided).Max(p => p.First.Data.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second))).Should().Be(0);
        plain.GuidedSteps.Should().Be(0);
        var guided = gen.Generate(r with { Options = Fast(1.0) });
        guided.GuidedSteps.Should().Be(guided.StepsRun);
        MaxDiff(plain, guided).Should().BeGreaterThan(1e-3f);
    }

    [Fact]
    public void Gradient_through_the_denoiser_runs_with_classifier_free_guidance_and_differs_from_x0_only()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var r = new LtgRequest { ClassIndex = 2, Count = 2, Options = Fast(0.5) with { CfgScale = 2, Signal = SignalKind.EpistemicHead }, Seed = 8 };
        var x0Only = gen.Generate(r);
        var viaDenoiser = gen.Generate(r with { Options = r.Options with { Gradient = GradientPath.ThroughDenoiser } });
        var again = gen.Generate(r with { Options = r.Options with { Gradient = GradientPath.ThroughDenoiser } });
        MaxDiff(viaDenoiser, again).Should().Be(0);
        MaxDiff(x0Only, viaDenoiser).Should().BeGreaterThan(0);
        viaDenoiser.GuidedSteps.Should().Be(viaDenoiser.StepsRun);
    }

    [Fact]
    public void Guide_every_k_counts_guided_steps()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var batch = gen.Generate(new LtgRequest { ClassIndex = 0, Count = 1, Options = Fast(0.5) with { Steps = 7, GuideEvery = 3 } });
        batch.StepsRun.Should().Be(7);
        batch.GuidedSteps.Should().Be(3);   // step indices 0, 3, 6
    }

    [Fact]
    public void Sdedit_strength_sets_the_start_timestep_and_low_strength_stays_near_the_source()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var full = LongtailGenerator.Timesteps(model.Diffusion.Timesteps, Fast(0) with { Steps = 10 }, fromSource: false);
        full.Should().HaveCount(10).And.BeInDescendingOrder();
        full[^1].Should().Be(0);
        var half = LongtailGenerator.Timesteps(model.Diffusion.Timesteps, Fast(0) with { Steps = 10, Strength = 0.5 }, fromSource: true);
        half[0].Should().BeLessThanOrEqualTo((int)(0.5 * model.Diffusion.Timesteps));
        half.Should().HaveCount(5).And.Equal(full.Where(t => t <= half[0]));

        manual_seed(1);
        using var source = rand(1, 8, 8);
        double Distance(double s)
        {
            var b = gen.Generate(new LtgRequest { Source = source, ClassIndex = 0, Count = 2, Options = Fast(0) with { Steps = 10, Strength = s }, Seed = 4 });
            var src = source.data<float>().ToArray();
            return b.Images.Average(im => im.Data.Zip(src).Average(q => Math.Abs(q.First - q.Second)));
        }
        Distance(0.1).Should().BeLessThan(Distance(1.0));
    }

    [Fact]
    public void Inconsistent_images_are_marked_not_dropped_and_records_carry_signals()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        manual_seed(2);
        using var source = rand(1, 8, 8);
        var batch = gen.Generate(new LtgRequest { Source = source, ClassIndex = 2, Count = 5, Options = Fast(0.2) with { ConsistencyThreshold = 1.0, Strength = 0.5 }, Seed = 1 });
        batch.Images.Should().HaveCount(5);
        batch.Records.Should().HaveCount(5).And.OnlyContain(r => !r.Consistent && r.ClassIndex == 2 && r.Weight == 0.2 && r.FromSource);
        batch.Records.Should().OnlyContain(r => r.SignalBefore.HasValue && double.IsFinite(r.SignalAfter) && r.ClassProbabilities.Length == 3);
        batch.Records.Select(r => r.SignalBefore).Distinct().Should().HaveCount(1);
        batch.Images.Should().OnlyContain(im => im.Data.All(v => v >= 0 && v <= 1));
    }

    [Fact]
    public void Batch_size_does_not_change_the_images()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var r = new LtgRequest { ClassIndex = 1, Count = 3, Options = Fast(0.5), Seed = 5 };
        MaxDiff(gen.Generate(r), gen.Generate(r with { Options = Fast(0.5) with { BatchSize = 1 } })).Should().BeLessThan(1e-4f);
    }

    /// <summary>The DDIM sampler alone (no hook), mapped to [0, 1] the way the generator maps its output.</summary>
    private static IReadOnlyList<float[]> UnguidedReference(DiffusionModel model, LtgRequest r)
    {
        var o = r.Options;
        using var x0 = DdimSampler.Sample(model, Enumerable.Repeat(r.ClassIndex, r.Count).ToArray(), o.Steps, o.Eta, o.CfgScale, r.Seed, batchSize: o.BatchSize);
        using var x01 = ((x0.clamp(-1, 1) + 1) / 2).contiguous();
        var all = x01.data<float>().ToArray();
        int per = all.Length / r.Count;
        return [.. Enumerable.Range(0, r.Count).Select(i => all[(i * per)..((i + 1) * per)])];
    }
}
