using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Ml.Tests;

public class SignalGradientTests
{
    [Theory]
    [InlineData(SignalKind.MutualInformation)]
    [InlineData(SignalKind.Entropy)]
    [InlineData(SignalKind.Energy)]
    [InlineData(SignalKind.EpistemicHead)]
    public void Every_signal_has_a_nonzero_finite_gradient_wrt_the_images(SignalKind kind)
    {
        using var bundle = TestBundles.Random();
        using var scope = NewDisposeScope();
        var signal = LongtailSignals.Create(kind, bundle);
        signal.Kind.Should().Be(kind);
        var x = ImagesOf(4).requires_grad_(true);
        var s = signal.Compute(x);
        s.shape.Should().Equal([4L]);
        s.sum().backward();
        x.grad.Should().NotBeNull();
        var g = x.grad!;
        g.abs().sum().item<float>().Should().BeGreaterThan(0);
        g.isfinite().all().item<bool>().Should().BeTrue();
        // Frozen classifier: the signal's gradient reaches the images only, never the parameters.
        bundle.Members.SelectMany(m => m.parameters()).Should().OnlyContain(p => !p.requires_grad);
    }

    [Fact]
    public void Class_loss_is_minus_log_of_the_ensemble_mean_probability_of_the_class_and_has_a_gradient()
    {
        using var bundle = TestBundles.Random();
        using var scope = NewDisposeScope();
        var x = ImagesOf(3).requires_grad_(true);
        var loss = new TargetClassLoss(bundle, 2).Compute(x);
        using (no_grad())
        {
            var p = bundle.MemberLogits(x).softmax(-1).mean([0])[.., 2];
            var expected = (-p.log()).data<float>().ToArray();
            loss.detach().data<float>().ToArray().Should().BeEquivalentTo(expected, c => c.Using<float>(e => e.Subject.Should().BeApproximately(e.Expectation, 1e-5f)).WhenTypeIs<float>());
        }
        loss.sum().backward();
        x.grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
        x.grad!.isfinite().all().item<bool>().Should().BeTrue();
        new TargetClassLoss(bundle, 2).Name.Should().Be("class-loss");
        FluentActions.Invoking(() => new TargetClassLoss(bundle, bundle.NumClasses)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Energy_gradient_matches_a_finite_difference()
    {
        using var bundle = TestBundles.Random();
        using var scope = NewDisposeScope();
        var signal = LongtailSignals.Create(SignalKind.Energy, bundle);
        var x = ImagesOf(1).to(ScalarType.Float32).requires_grad_(true);
        signal.Compute(x).sum().backward();
        var grad = x.grad!.flatten();
        int i = (int)grad.abs().argmax().item<long>();
        float eps = 1e-2f;
        using var _ = no_grad();
        var plus = x.detach().clone(); plus.view(-1)[i] += eps;
        var minus = x.detach().clone(); minus.view(-1)[i] -= eps;
        float fd = (signal.Compute(plus).item<float>() - signal.Compute(minus).item<float>()) / (2 * eps);
        fd.Should().BeApproximately(grad[i].item<float>(), Math.Abs(grad[i].item<float>()) * 0.05f + 1e-4f);
    }

    [Fact]
    public void Factory_parses_names_and_reports_available_signals()
    {
        LongtailSignals.Parse("mi").Should().Be(SignalKind.MutualInformation);
        LongtailSignals.Parse("epistemic-head").Should().Be(SignalKind.EpistemicHead);
        FluentActions.Invoking(() => LongtailSignals.Parse("nope")).Should().Throw<ArgumentException>().WithMessage("*nope*");
        using var single = TestBundles.Random(members: 1, head: false);
        LongtailSignals.Available(single).Should().Equal(SignalKind.Entropy, SignalKind.Energy);
        FluentActions.Invoking(() => LongtailSignals.Create(SignalKind.EpistemicHead, single)).Should().Throw<InvalidOperationException>();
    }

    internal static Tensor ImagesOf(int n) => Common.ImageBatches.Images(TestBundles.Images(n), Enumerable.Range(0, n).ToArray());
}
