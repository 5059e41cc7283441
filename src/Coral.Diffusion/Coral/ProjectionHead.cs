using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Coral.Diffusion.Contrastive;

/// <summary>CORAL projection head on the middle-block output: global average pool → Linear → L2 normalise (no nonlinearity).</summary>
public sealed class ProjectionHead : Module<Tensor, Tensor>
{
    private readonly Linear linear;

    public ProjectionHead(int inChannels, int dim) : base(nameof(ProjectionHead))
    {
        linear = Linear(inChannels, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor middle)
    {
        using var scope = NewDisposeScope();
        var pooled = middle.mean([2, 3]);
        return functional.normalize(linear.call(pooled), p: 2, dim: 1).MoveToOuterDisposeScope();
    }
}
