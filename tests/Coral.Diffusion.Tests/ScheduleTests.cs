using Coral.Diffusion.Schedule;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests;

public class ScheduleTests
{
    [Fact]
    public void Linear_schedule_has_the_ddpm_endpoints_and_decreasing_alpha_bar()
    {
        var d = new GaussianDiffusion(BetaSchedule.Linear, 1000);
        d.Betas[0].Should().BeApproximately(1e-4, 1e-12);
        d.Betas[^1].Should().BeApproximately(0.02, 1e-12);
        d.AlphaBars[0].Should().BeApproximately(1 - 1e-4, 1e-12);
        d.AlphaBars.Should().BeInDescendingOrder();
        d.AlphaBars[^1].Should().BeInRange(1e-6, 1e-4); // ≈ 4.0e-5 for DDPM's schedule
        d.AlphaBarOrOne(-1).Should().Be(1);
    }

    [Fact]
    public void Cosine_schedule_follows_the_closed_form_and_is_clipped()
    {
        var d = new GaussianDiffusion(BetaSchedule.Cosine, 1000);
        static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
        d.AlphaBars.Should().BeInDescendingOrder();
        d.AlphaBars[499].Should().BeApproximately(F(0.5) / F(0), 1e-6);
        d.Betas.Max().Should().BeLessThanOrEqualTo(0.999);
        d.AlphaBars[^1].Should().BeLessThan(1e-3);
    }

    [Fact]
    public void Q_sample_then_x0_from_true_noise_inverts_exactly()
    {
        var d = new GaussianDiffusion(BetaSchedule.Linear, 1000);
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x0 = rand(6, 1, 8, 8) * 2 - 1;
        var noise = randn_like(x0);
        var t = tensor(new long[] { 0, 1, 100, 500, 900, 999 });
        var xt = d.QSample(x0, t, noise);
        // Row 3 by hand: x_t = √ᾱ x0 + √(1−ᾱ) ε.
        double ab = d.AlphaBars[500];
        var row = Math.Sqrt(ab) * x0[3] + Math.Sqrt(1 - ab) * noise[3];
        xt[3].allclose(row, rtol: 1e-5, atol: 1e-6).Should().BeTrue();
        d.PredictX0FromEps(xt, t, noise).allclose(x0, rtol: 1e-3, atol: 2e-3).Should().BeTrue();
        // The one-ᾱ form the samplers and guidance use is the same formula.
        GaussianDiffusion.PredictX0(xt[3], noise[3], ab).allclose(d.PredictX0FromEps(xt, t, noise)[3], rtol: 1e-5, atol: 1e-6).Should().BeTrue();
        GaussianDiffusion.EpsilonLoss(noise, noise).abs().max().item<float>().Should().Be(0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(20_000)]
    public void Bad_timestep_count_is_a_typed_error(int T)
    {
        var act = () => new GaussianDiffusion(BetaSchedule.Linear, T);
        act.Should().Throw<DiffusionInputException>().Which.Input.Should().Be("timesteps");
    }
}
