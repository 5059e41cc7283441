using Coral.Ml;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Tests;

public class TorchSmokeTests
{
    [Fact]
    public void Matmul_and_backward_give_the_analytic_gradient()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2, 3, 4 }, [2, 2], requires_grad: true);
        var w = tensor(new float[] { 0.5f, -1, 2, 0 }, [2, 2]);
        var y = x.matmul(w).pow(2).sum(); // d/dx sum((xW)^2) = 2 (xW) W^T
        y.backward();
        var expected = (x.detach().matmul(w) * 2).matmul(w.t());
        x.grad!.allclose(expected).Should().BeTrue();
        y.item<float>().Should().BeApproximately(
            (float)(Math.Pow(1 * 0.5 + 2 * 2, 2) + Math.Pow(-1, 2) + Math.Pow(3 * 0.5 + 4 * 2, 2) + Math.Pow(-3, 2)), 1e-4f);
    }
}
