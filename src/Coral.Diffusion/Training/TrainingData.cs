using Coral.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Training;

/// <summary>Labelled images as one float tensor in the diffusion range [-1, 1], resized to the network resolution.</summary>
public static class TrainingData
{
    /// <summary>[N, C, R, R] in [-1, 1]. Downscaling uses area averaging (no aliasing of thin strokes).</summary>
    public static Tensor ToTensor(LabeledImages set, int resolution)
    {
        if (resolution < 4) throw new DiffusionInputException("resolution", $"must be ≥ 4, got {resolution}");
        using var scope = NewDisposeScope();
        var x = tensor(set.Pixels).view(set.Count, set.Channels, set.Height, set.Width).to(ScalarType.Float32) / 255.0;
        x = Resize01(x, resolution);
        return (x * 2 - 1).MoveToOuterDisposeScope();
    }

    /// <summary>Resizes [N,C,H,W] images in [0,1]: area when shrinking, bilinear when growing.</summary>
    public static Tensor Resize01(Tensor x01, int size)
    {
        if (x01.shape[2] == size && x01.shape[3] == size) return x01.alias();
        var mode = size < x01.shape[2] ? InterpolationMode.Area : InterpolationMode.Bilinear;
        using var r = nn.functional.interpolate(x01, size: [size, size], mode: mode, align_corners: mode == InterpolationMode.Bilinear ? false : null);
        return r.clamp(0, 1);
    }
}
