using Coral.Diffusion.Guidance;
using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests.Guidance;

public class ConsistencyAndInputTests
{
    [Fact]
    public void Consistency_marks_by_ensemble_mean_probability_of_the_target_class()
    {
        using var bundle = TinyModels.Classifier();
        manual_seed(3);
        using var x = rand(6, 1, 8, 8);
        var verdicts = ClassConsistency.Judge(bundle, x, 1, 0.0);
        verdicts.Should().OnlyContain(v => v.Consistent);
        using var mode = inference_mode();
        var mean = bundle.MemberLogits(x).softmax(-1).mean([0]);
        for (int i = 0; i < 6; i++)
        {
            verdicts[i].TargetProbability.Should().BeApproximately(mean[i, 1].item<float>(), 1e-6);
            verdicts[i].Probabilities.Sum().Should().BeApproximately(1f, 1e-5f);
        }
        // Threshold at one image's own probability: that image (p ≥ t) passes, anything lower is marked.
        double t = verdicts[2].TargetProbability;
        var marked = ClassConsistency.Judge(bundle, x, 1, t);
        for (int i = 0; i < 6; i++) marked[i].Consistent.Should().Be(verdicts[i].TargetProbability >= t);
        ClassConsistency.Judge(bundle, x, 1, 1.0).Should().OnlyContain(v => !v.Consistent);
    }

    [Theory]
    [InlineData(-0.1, 0.5, "weight")]
    [InlineData(double.NaN, 0.5, "weight")]
    [InlineData(LtgOptions.MaxWeight + 1, 0.5, "weight")]
    [InlineData(0.3, 0.0, "strength")]
    [InlineData(0.3, 1.5, "strength")]
    public void Out_of_range_weight_or_strength_is_an_input_error_naming_it(double weight, double strength, string name)
    {
        var act = () => new LtgOptions { Weight = weight, Strength = strength }.Validate();
        act.Should().Throw<DiffusionInputException>().Where(e => e.Input == name && e.Message.StartsWith(name + ":"));
    }

    [Fact]
    public void Generator_rejects_unknown_class_bad_count_wrong_source_shape_and_missing_signal()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        gen.Invoking(g => g.ResolveClass("zebra")).Should().Throw<DiffusionInputException>().WithMessage("class: 'zebra'*");
        gen.Invoking(g => g.ResolveClass("7")).Should().Throw<DiffusionInputException>().WithMessage("class: 7*");
        gen.ResolveClass("B").Should().Be(1);
        gen.Invoking(g => g.Generate(new LtgRequest { ClassIndex = 3, Count = 1 })).Should().Throw<DiffusionInputException>().Where(e => e.Input == "class");
        gen.Invoking(g => g.Generate(new LtgRequest { ClassIndex = 0, Count = 0 })).Should().Throw<DiffusionInputException>().Where(e => e.Input == "count");
        using var wrong = rand(1, 16, 16);
        gen.Invoking(g => g.Generate(new LtgRequest { Source = wrong, SourceName = "flagged.png", ClassIndex = 0, Count = 1 }))
            .Should().Throw<DiffusionInputException>().Where(e => e.Input == "flagged.png");
        using var single = new ClassifierBundle(bundle.Config, bundle.ClassNames, [bundle.Members[0]], null, null, bundle.Card);
        new LongtailGenerator(model, single).Invoking(g => g.Generate(new LtgRequest { ClassIndex = 0, Count = 1, Options = new() { Signal = SignalKind.MutualInformation } }))
            .Should().Throw<DiffusionInputException>().Where(e => e.Input == "signal");
    }

    [Fact]
    public void Undecodable_source_is_a_typed_error_naming_it_and_a_png_decodes_at_model_size()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        gen.Invoking(g => g.DecodeSource([1, 2, 3, 4], "flagged/blob-7.png"))
            .Should().Throw<ImageDecodeException>().Where(e => e.SourceName == "flagged/blob-7.png");
        var png = ImageCodec.EncodePng(new ImageTensor(Enumerable.Repeat(0.5f, 20 * 20).ToArray(), 1, 20, 20));
        using var x = gen.DecodeSource(png, "ok.png");
        x.shape.Should().Equal(1, 8, 8);
    }

    [Fact]
    public void A_classifier_of_another_shape_is_refused_naming_both_shapes()
    {
        using var model = TinyModels.Diffusion();
        using var bigger = TinyModels.Classifier(height: 16);
        var act = () => new LongtailGenerator(model, bigger);
        act.Should().Throw<DiffusionInputException>().Where(e => e.Input == "classifier" && e.Message.Contains("1x16x16") && e.Message.Contains("1x8x8"));
    }

    [Fact]
    public void Seeds_per_image_are_stable_and_distinct()
    {
        LongtailGenerator.SeedFor(5, 0).Should().Be(LongtailGenerator.SeedFor(5, 0));
        Enumerable.Range(0, 100).Select(i => LongtailGenerator.SeedFor(5, i)).Distinct().Should().HaveCount(100);
        LongtailGenerator.SeedFor(5, 0).Should().NotBe(LongtailGenerator.SeedFor(6, 0));
    }
}
