using Coral.Diffusion.Evaluation;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests;

public class EvaluationTests
{
    [Fact]
    public void Evaluator_refuses_a_judge_or_test_set_of_another_shape_naming_both()
    {
        using var model = Guidance.TinyModels.Diffusion();
        var test8 = new Coral.Data.LabeledImages(new byte[6 * 64], [0, 1, 2, 0, 1, 2], 1, 8, 8, ["a", "b", "c"]);
        var test16 = new Coral.Data.LabeledImages(new byte[6 * 256], [0, 1, 2, 0, 1, 2], 1, 16, 16, ["a", "b", "c"]);
        string dir = Directory.CreateTempSubdirectory("coral-eval-shape-").FullName;
        var o = new GenerationEvalOptions { SamplesPerClass = 2, Steps = 2 };
        using (var judge16 = Guidance.TinyModels.Classifier(height: 16))
            new GenerationEvaluator(judge16, test16).Invoking(e => e.Evaluate(model, "m", o, dir))
                .Should().Throw<DiffusionInputException>().Where(e => e.Input == "judge" && e.Message.Contains("1x16x16") && e.Message.Contains("1x8x8"));
        using (var judge8 = Guidance.TinyModels.Classifier(height: 8))
            new GenerationEvaluator(judge8, test16).Invoking(e => e.Evaluate(model, "m", o, dir))
                .Should().Throw<DiffusionInputException>().Where(e => e.Input == "data" && e.Message.Contains("1x16x16") && e.Message.Contains("1x8x8"));
    }

    [Fact]
    public void Frechet_distance_matches_closed_forms()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var a = randn(400, 5, dtype: ScalarType.Float64);
        a = a - a.mean([0]); // zero mean, so scaling below changes only the covariance
        FrechetDistance.Distance(a, a).Should().BeApproximately(0, 1e-6);
        // Same covariance, mean shifted by m: distance = ‖m‖².
        var m = tensor(new double[] { 1, -2, 0, 0.5, 3 });
        FrechetDistance.Distance(a, a + m).Should().BeApproximately(1 + 4 + 0.25 + 9, 1e-6);
        // Scaled copy: Σ2 = s²Σ1 → tr Σ1 + s² tr Σ1 − 2 s tr Σ1 = (1 − s)² tr Σ1.
        var fit = FrechetDistance.Fit(a);
        double trace = Enumerable.Range(0, 5).Sum(i => fit.Covariance[i, i]);
        FrechetDistance.Distance(a, a * 3).Should().BeApproximately(4 * trace, 1e-6 * trace);
    }

    [Fact]
    public void Frechet_distance_works_with_rank_deficient_small_sets()
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        var small = randn(10, 64); // 10 samples in 64-d: covariance rank 9
        var other = randn(10, 64) + 1;
        double d = FrechetDistance.Distance(small, other);
        double.IsFinite(d).Should().BeTrue();
        d.Should().BeGreaterThan(FrechetDistance.Distance(small, small));
        var act = () => FrechetDistance.Fit(randn(1, 4));
        act.Should().Throw<DiffusionInputException>();
    }

    [Fact]
    public void Mean_spread_uses_the_sample_standard_deviation()
    {
        var m = MeanSpread.Of([1.0, 2.0, 3.0]);
        m.Mean.Should().Be(2);
        m.Std.Should().BeApproximately(1, 1e-12);
        m.N.Should().Be(3);
    }
}
