using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Coral.Ml.Classification;

/// <summary>
/// nn.BatchNorm2d with the same parameters and buffers (checkpoints load unchanged), whose training-step counter holds
/// its own Scalars. TorchSharp's <c>num_batches_tracked.add_(1)</c> builds two implicit Scalars and reads only their
/// handles, so the finalizer may free one during the native call: fine-tunes died now and then with "for integral input
/// tensors, argument alpha must not be a floating point number".
/// </summary>
public sealed class CounterSafeBatchNorm2d : BatchNorm
{
    // Static, so never unreachable and never finalized while a native call reads them.
    private static readonly TorchSharp.Scalar One = 1L;

    public CounterSafeBatchNorm2d(long features, double eps = 1e-5, double momentum = 0.1)
        : base(features, eps, momentum, affine: true, track_running_stats: true, device: null, dtype: null, name: "BatchNorm2d")
    {
    }

    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 4) throw new ArgumentException($"expected a 4D input [B, C, H, W], got {input.ndim}D");
    }

    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        if (training) num_batches_tracked!.add_(One, One);
        // As PyTorch: batch statistics while training, the running ones otherwise.
        return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum ?? 0.1, eps);
    }
}
