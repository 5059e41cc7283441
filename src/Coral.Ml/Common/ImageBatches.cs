using Coral.Data;
using static TorchSharp.torch;

namespace Coral.Ml.Common;

/// <summary>Turns 8-bit images into float batches [B, C, H, W] in [0, 1] (the classifier's input range).</summary>
public static class ImageBatches
{
    public static Tensor Images(LabeledImages data, ReadOnlySpan<int> indices)
    {
        int per = data.PixelsPerImage;
        var buffer = new float[indices.Length * per];
        for (int i = 0; i < indices.Length; i++)
        {
            var src = data.Image(indices[i]);
            var dst = buffer.AsSpan(i * per, per);
            for (int j = 0; j < per; j++) dst[j] = src[j] * (1f / 255f);
        }
        return tensor(buffer, [indices.Length, data.Channels, data.Height, data.Width]);
    }

    public static Tensor Labels(LabeledImages data, ReadOnlySpan<int> indices)
    {
        var ys = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++) ys[i] = data.Labels[indices[i]];
        return tensor(ys);
    }

    /// <summary>Runs <paramref name="body"/> on consecutive chunks of 0..count-1 (or of <paramref name="order"/>).</summary>
    public static IEnumerable<int[]> Chunks(int count, int batchSize, int[]? order = null)
    {
        for (int s = 0; s < count; s += batchSize)
        {
            int n = Math.Min(batchSize, count - s);
            yield return order is null ? Enumerable.Range(s, n).ToArray() : order[s..(s + n)];
        }
    }
}
