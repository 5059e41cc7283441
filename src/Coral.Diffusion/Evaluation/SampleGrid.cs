using Coral.Imaging;
using static TorchSharp.torch;

namespace Coral.Diffusion.Evaluation;

/// <summary>PNG grid of samples: one row per class, the first <c>columns</c> samples of each.</summary>
public static class SampleGrid
{
    /// <param name="x01">[K·perClass, C, H, W] in [0, 1], grouped by class.</param>
    public static void Write(Tensor x01, int classes, int perClass, int columns, string path)
    {
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
