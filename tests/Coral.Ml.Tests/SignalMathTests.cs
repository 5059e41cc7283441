using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Ml.Tests;

public class SignalMathTests
{
    public SignalMathTests() => TorchRuntime.EnsureLoaded();

    private static double[] Softmax(double[] z)
    {
        double m = z.Max();
        var e = z.Select(v => Math.Exp(v - m)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    private static double H(double[] p) => -p.Where(v => v > 0).Sum(v => v * Math.Log(v));

    [Fact]
    public void Entropy_and_energy_match_hand_computed_values()
    {
        using var scope = NewDisposeScope();
        double[] a = [2, 0, -1], b = [0, 0, 0];
        var logits = tensor(a.Concat(b).Select(v => (float)v).ToArray(), [2, 3]);
        var h = SignalMath.Entropy(logits).data<float>().ToArray();
        var e = SignalMath.Energy(logits).data<float>().ToArray();
        h[0].Should().BeApproximately((float)H(Softmax(a)), 1e-5f);
        h[1].Should().BeApproximately((float)Math.Log(3), 1e-5f); // uniform: log C
        e[0].Should().BeApproximately((float)-Math.Log(a.Sum(Math.Exp)), 1e-5f);
        e[1].Should().BeApproximately((float)-Math.Log(3), 1e-5f);
    }

    [Fact]
    public void Mutual_information_is_entropy_of_mean_minus_mean_entropy()
    {
        using var scope = NewDisposeScope();
        // Two members, two images: image 0 the members disagree, image 1 they agree exactly.
        double[][] m0 = [[3, 0, 0], [1, 2, 0]];
        double[][] m1 = [[0, 3, 0], [1, 2, 0]];
        var flat = m0.Concat(m1).SelectMany(r => r).Select(v => (float)v).ToArray();
        var mi = SignalMath.MutualInformation(tensor(flat, [2, 2, 3])).data<float>().ToArray();
        for (int i = 0; i < 2; i++)
        {
            var p0 = Softmax(m0[i]); var p1 = Softmax(m1[i]);
            var mean = p0.Zip(p1, (x, y) => (x + y) / 2).ToArray();
            double expected = H(mean) - (H(p0) + H(p1)) / 2;
            mi[i].Should().BeApproximately((float)expected, 1e-5f);
        }
        mi[0].Should().BeGreaterThan(0.3f);
        mi[1].Should().BeApproximately(0, 1e-6f);
    }

    [Fact]
    public void Calibration_threshold_is_the_interpolated_quantile()
    {
        float[] values = [5, 1, 4, 2, 3]; // sorted 1..5
        Calibration.Quantile(values, 0.5).Should().Be(3);
        Calibration.Quantile(values, 0.95).Should().BeApproximately(4.8, 1e-12); // pos 3.8 → 4 + 0.8·1
        Calibration.Quantile(values, 1).Should().Be(5);
        var values100 = Enumerable.Range(1, 100).Select(i => (float)i).ToArray();
        var cal = Calibration.Fit(new Dictionary<SignalKind, float[]> { [SignalKind.Entropy] = values100 }, 0.05, SignalKind.Entropy, "ref");
        cal.Threshold(SignalKind.Entropy).Should().BeApproximately(95.05, 1e-9); // pos 94.05 → 95 + 0.05
        values100.Count(v => v > cal.Threshold(SignalKind.Entropy)).Should().Be(5); // flags 5% of the reference
        cal.ReferenceCount.Should().Be(100);
    }

    [Fact]
    public void Calibration_rejects_bad_flag_rates()
    {
        var v = new Dictionary<SignalKind, float[]> { [SignalKind.Entropy] = [1f, 2f] };
        FluentActions.Invoking(() => Calibration.Fit(v, 0, SignalKind.Entropy, "r")).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => Calibration.Fit(v, 0.05, SignalKind.Energy, "r")).Should().Throw<ArgumentException>();
    }
}
