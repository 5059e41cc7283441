using Coral.Diffusion.Networks;
using Coral.Diffusion.Sampling;
using Coral.Diffusion.Schedule;
using Coral.Ml;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests;

public class SamplerTests
{
    private static DiffusionModel TinyModel()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(7);
        return new DiffusionModel(new UNet(TestNets.Tiny), new GaussianDiffusion(BetaSchedule.Linear, 50), ["a", "b", "c"]);
    }

    [Fact]
    public void Ddim_is_deterministic_under_a_seed_and_independent_of_batch_size()
    {
        using var model = TinyModel();
        int[] labels = [0, 1, 2, 1, 0];
        using var a = DdimSampler.Sample(model, labels, steps: 5, eta: 0.5, guidanceScale: 1.5, seed: 42, batchSize: 5);
        using var b = DdimSampler.Sample(model, labels, steps: 5, eta: 0.5, guidanceScale: 1.5, seed: 42, batchSize: 2);
        using var c = DdimSampler.Sample(model, labels, steps: 5, eta: 0.5, guidanceScale: 1.5, seed: 43, batchSize: 5);
        a.shape.Should().Equal(5, 1, 8, 8);
        a.allclose(b, rtol: 1e-4, atol: 1e-5).Should().BeTrue();
        a.allclose(c).Should().BeFalse();
    }

    [Fact]
    public void Ddpm_is_deterministic_under_a_seed()
    {
        using var model = TinyModel();
        using var a = DdpmSampler.Sample(model, [2, 0], guidanceScale: 0, seed: 5);
        using var b = DdpmSampler.Sample(model, [2, 0], guidanceScale: 0, seed: 5);
        a.isfinite().all().item<bool>().Should().BeTrue();
        (a - b).abs().max().item<float>().Should().Be(0);
    }

    [Fact]
    public void Hook_sees_every_step_with_consistent_x0_and_can_replace_epsilon()
    {
        using var model = TinyModel();
        var seen = new List<(int Index, int T, double Ab)>();
        double maxX0Error = 0;
        using var zeroEps = DdimSampler.Sample(model, [0, 1], steps: 4, eta: 0, guidanceScale: 1, seed: 1, epsilonHook: s =>
        {
            seen.Add((s.StepIndex, s.Timestep, s.AlphaBar));
            using var lhs = Math.Sqrt(s.AlphaBar) * s.X0 + Math.Sqrt(1 - s.AlphaBar) * s.Epsilon;
            maxX0Error = Math.Max(maxX0Error, (lhs - s.Xt).abs().max().item<float>());
            return zeros_like(s.Epsilon);
        });
        seen.Select(s => s.Index).Should().Equal(0, 1, 2, 3);
        seen.Select(s => s.T).Should().Equal(49, 33, 16, 0);
        seen.Select(s => s.Ab).Should().BeInAscendingOrder();
        maxX0Error.Should().BeLessThan(1e-4);
        using var plain = DdimSampler.Sample(model, [0, 1], steps: 4, eta: 0, guidanceScale: 1, seed: 1);
        zeroEps.allclose(plain).Should().BeFalse("the hook's ε̂ replaced the network's");
    }

    [Theory]
    [InlineData(3, 10, 0.0, 1.0, "class")]
    [InlineData(-1, 10, 0.0, 1.0, "class")]
    [InlineData(0, 0, 0.0, 1.0, "steps")]
    [InlineData(0, 51, 0.0, 1.0, "steps")]
    [InlineData(0, 10, 1.5, 1.0, "eta")]
    [InlineData(0, 10, 0.0, -0.1, "guidance-scale")]
    [InlineData(0, 10, 0.0, 21.0, "guidance-scale")]
    [InlineData(0, 10, 0.0, double.NaN, "guidance-scale")]
    public void Bad_inputs_raise_typed_errors_naming_the_input(int label, int steps, double eta, double scale, string input)
    {
        using var model = TinyModel();
        var act = () => DdimSampler.Sample(model, [label], steps, eta, scale, seed: 0);
        act.Should().Throw<DiffusionInputException>().Which.Input.Should().Be(input);
    }
}
