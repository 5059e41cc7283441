using Coral.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Evaluation;

/// <summary>PNG grid of samples: one row per class, the first <c>columns</c> samples of each.</summary>
public static class SampleGrid
{
    /// <param name="x01">[K·perClass, C, H, W] in [0, 1], grouped by class.</param>
    public static void Write(Tensor x01, int classes, int perClass, int columns, string path)
    {
        // Nearest-neighbour upscaling to ≥ 48 px so 16 px samples stay legible without inventing detail.
        int factor = Math.Max(1, 48 / (int)x01.shape[2]);
        using var big = factor == 1 ? x01.alias() : nn.functional.interpolate(x01, scale_factor: [factor, factor], mode: InterpolationMode.Nearest);
        x01 = big;
        var data = x01.contiguous().data<float>().ToArray();
        int c = (int)x01.shape[1], h = (int)x01.shape[2], w = (int)x01.shape[3], per = c * h * w;
        var tiles = new List<ImageTensor>();
        for (int k = 0; k < classes; k++)
            for (int j = 0; j < columns; j++)
                tiles.Add(new ImageTensor(data.AsSpan((k * perClass + j) * per, per).ToArray(), c, h, w));
        var grid = ImageGrid.Compose(tiles, columns);
        string tmp = path + ".tmp";
        using (var fs = File.Create(tmp)) ImageCodec.EncodePng(grid, fs);
        File.Move(tmp, path, overwrite: true);
    }
}
