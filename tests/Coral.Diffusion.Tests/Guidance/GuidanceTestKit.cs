using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests.Guidance;

/// <summary>s(x) = Σ a·x over each image: its gradient w.r.t. the [0, 1] image is exactly a.</summary>
internal sealed class LinearSignal(Tensor a) : ILongtailSignal
{
    public string Name => "linear-test";
    public SignalKind Kind => SignalKind.Entropy;
    public int Calls { get; private set; }

    public Tensor Compute(Tensor images)
    {
        Calls++;
        using var scope = NewDisposeScope();
        return (images * a).sum([1, 2, 3]).MoveToOuterDisposeScope();
    }
}
