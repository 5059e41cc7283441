using Coral.Diffusion.Contrastive;
using Coral.Diffusion.Networks;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests;

public class CoralTests
{
    [Fact]
    public void SupCon_matches_a_hand_computed_case()
    {
        using var scope = NewDisposeScope();
        // Unit vectors at 0°, 60°, 180° with labels [0, 0, 1], τ = 0.5.
        double s = Math.Sqrt(3) / 2;
        var z = tensor(new float[] { 1, 0, 0.5f, (float)s, -1, 0 }, [3, 2]);
        var y = tensor(new long[] { 0, 0, 1 });
        var (loss, has) = SupConLoss.PerAnchor(z, y, 0.5);
        // Anchor 0: positive 1 (cos 0.5), negative 2 (cos −1): −log(e^{1}/(e^{1}+e^{−2})).
        double l0 = -Math.Log(Math.Exp(1) / (Math.Exp(1) + Math.Exp(-2)));
        // Anchor 1: positive 0 (cos 0.5), negative 2 (cos −0.5): −log(e^{1}/(e^{1}+e^{−1})).
        double l1 = -Math.Log(Math.Exp(1) / (Math.Exp(1) + Math.Exp(-1)));
        loss[0].item<float>().Should().BeApproximately((float)l0, 1e-5f);
        loss[1].item<float>().Should().BeApproximately((float)l1, 1e-5f);
        has.data<bool>().ToArray().Should().Equal(true, true, false); // anchor 2 has no positive
        loss[2].item<float>().Should().Be(0);

        // Weighted: λ = [2, 1, 5]; anchor 2 contributes nothing; mean over the two anchors.
        var w = SupConLoss.Weighted(z, y, ones(3, dtype: ScalarType.Bool), tensor(new float[] { 2, 1, 5 }), 0.5);
        w.item<float>().Should().BeApproximately((float)((2 * l0 + 1 * l1) / 2), 1e-5f);
    }

    [Fact]
    public void Label_dropped_samples_are_neither_anchors_nor_negatives()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var z = nn.functional.normalize(randn(5, 4), dim: 1);
        var y = tensor(new long[] { 0, 0, 1, 1, 0 });
        var keep = tensor(new[] { true, true, true, true, false });
        var lambda = ones(5);
        var withDrop = SupConLoss.Weighted(z, y, keep, lambda, 0.1);
        var idx = tensor(new long[] { 0, 1, 2, 3 });
        var onlyKept = SupConLoss.Weighted(z.index_select(0, idx), y.index_select(0, idx), ones(4, dtype: ScalarType.Bool), ones(4), 0.1);
        withDrop.item<float>().Should().BeApproximately(onlyKept.item<float>(), 1e-6f);
        // Moving the dropped sample changes nothing.
        var z2 = z.clone(); z2[4] = z[2];
        SupConLoss.Weighted(z2, y, keep, lambda, 0.1).item<float>().Should().BeApproximately(withDrop.item<float>(), 1e-6f);
        // All dropped → exactly zero.
        SupConLoss.Weighted(z, y, zeros(5, dtype: ScalarType.Bool), lambda, 0.1).item<float>().Should().Be(0);
    }

    [Fact]
    public void Lambda_is_strongest_at_low_noise()
    {
        var o = new CoralOptions { Weight = 0.5, TimeTemperature = 0.5 };
        o.Lambda(0, 1000).Should().BeApproximately(0.5 * Math.Exp(2), 1e-12);
        o.Lambda(1000, 1000).Should().BeApproximately(0.5, 1e-12);
        o.Lambda(100, 1000).Should().BeGreaterThan(o.Lambda(900, 1000));
    }

    [Fact]
    public void SupCon_gradients_reach_the_bottleneck_through_the_projection_head()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var net = new UNet(TestNets.Tiny);
        var head = new ProjectionHead(net.Config.MiddleChannels, 8);
        var x = randn(6, 1, 8, 8);
        var t = tensor(new long[] { 1, 5, 9, 20, 30, 40 });
        var y = tensor(new long[] { 0, 0, 1, 1, 2, 2 });
        var outp = net.Forward(x, t, y);
        outp.Middle.retain_grad();
        var loss = SupConLoss.Weighted(head.call(outp.Middle), y, ones(6, dtype: ScalarType.Bool), ones(6), 0.1);
        loss.backward();
        outp.Middle.grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
        // …and on into the encoder: the first convolution of the U-Net gets a gradient from SupCon alone.
        var first = net.named_parameters().First(p => p.name == "head.weight").parameter;
        first.grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
        // The decoder's output conv does not feed the bottleneck: SupCon leaves it untouched.
        var tail = net.named_parameters().First(p => p.name == "tail.weight").parameter;
        (tail.grad is null || tail.grad.abs().sum().item<float>() == 0).Should().BeTrue();
    }

    [Fact]
    public void Default_weight_is_the_public_codes_effective_weight()
    {
        // 0.5 (w) · 0.1 (τ, applied a second time) · E_u[exp((1 − u)/0.3)] = 0.05 · 0.3 · (e^{1/0.3} − 1) ≈ 0.405.
        var o = new CoralOptions();
        o.EffectiveWeight.Should().BeApproximately(0.05 * 0.3 * (Math.Exp(1 / 0.3) - 1), 1e-12);
        o.EffectiveWeight.Should().BeInRange(0.40, 0.41);
        // The paper's Table 3 reading (w 0.01, τ_r 1, no extra τ) is about 24× weaker.
        var paper = new CoralOptions { Weight = 0.01, TimeTemperature = 1.0, ScaleByTemperature = false };
        (o.EffectiveWeight / paper.EffectiveWeight).Should().BeInRange(23, 24.5);
        // Numerical mean of λ over t agrees with the closed form.
        double mean = Enumerable.Range(0, 1000).Average(t => o.ExtraScale * o.Lambda(t, 1000));
        mean.Should().BeApproximately(o.EffectiveWeight, 0.01 * o.EffectiveWeight);
    }

    [Fact]
    public void Batch_mean_reduction_gives_every_anchor_the_same_weight()
    {
        var (x, y) = TestNets.Data();
        using var _ = x;
        // Same data, two reductions: both train (finite, positive CORAL term) and differ only in how λ is spread.
        foreach (var reduction in new[] { LambdaReduction.BatchMean, LambdaReduction.PerSample })
        {
            var opts = TestNets.TinyOptions(coral: true) with { Coral = new CoralOptions { ProjectionDim = 8, Reduction = reduction } };
            using var trainer = new Coral.Diffusion.Training.DiffusionTrainer(opts, x, y, Directory.CreateTempSubdirectory("coral-red-").FullName);
            var (l, _, c) = trainer.TrainStep(0);
            double.IsFinite(l).Should().BeTrue();
            c.Should().BeGreaterThan(0, $"{reduction}");
        }
    }

    [Fact]
    public void Bad_coral_options_are_typed_errors()
    {
        var act = () => new CoralOptions { Temperature = 0 }.Validate();
        act.Should().Throw<DiffusionInputException>().Which.Input.Should().Be("coral-tau");
    }
}
