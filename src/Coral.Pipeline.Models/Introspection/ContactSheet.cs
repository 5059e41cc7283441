using Coral.Imaging;
using Coral.Pipeline.Introspection;

namespace Coral.Pipeline.Models.Introspection;

/// <summary>
/// The two PNGs a vision model is shown: the source, re-encoded at a size vision models read well, and the
/// batch as one contact sheet (one request, one image, whatever the batch size). Tiny images such as 28 px
/// Fashion-MNIST are enlarged with nearest-neighbour so their pixels stay crisp.
/// </summary>
public static class ContactSheet
{
    /// <summary>Longest side of the re-encoded source.</summary>
    public const int MaxSourceSide = 512;
    /// <summary>Smallest longest side: smaller images are enlarged up to it.</summary>
    public const int MinSide = 128;
    /// <summary>Longest side of one contact-sheet tile.</summary>
    public const int TileSide = 128;

    /// <summary>The source as PNG, its longest side in [<see cref="MinSide"/>, <see cref="MaxSourceSide"/>].</summary>
    public static byte[] SourcePng(ReadOnlyMemory<byte> source, string sourceName)
    {
        var bytes = source.ToArray();
        var info = ImageCodec.Probe(bytes, ImageDecodeOptions.Default, sourceName);
        var (w, h, filter) = Fit(info.Width, info.Height, Math.Clamp(Math.Max(info.Width, info.Height), MinSide, MaxSourceSide));
        return ImageCodec.EncodePng(ImageCodec.Decode(bytes, new ImageDecodeOptions { Width = w, Height = h, Filter = filter }, sourceName));
    }

    /// <summary>Every image as one tile (RGB, shared tile size from the first image), ⌈√n⌉ columns.</summary>
    public static byte[] Png(IReadOnlyList<byte[]> images, string batchName)
    {
        if (images.Count == 0) throw new ArgumentException($"{batchName}: no images for a contact sheet", nameof(images));
        var first = ImageCodec.Probe(images[0], ImageDecodeOptions.Default, $"{batchName}/0.png");
        var (w, h, filter) = Fit(first.Width, first.Height, TileSide);
        var options = new ImageDecodeOptions { Width = w, Height = h, Filter = filter };
        var tiles = images.Select((png, i) => ImageCodec.Decode(png, options, $"{batchName}/{i}.png")).ToList();
        int columns = (int)Math.Ceiling(Math.Sqrt(tiles.Count));
        return ImageCodec.EncodePng(ImageGrid.Compose(tiles, columns, padding: 4));
    }

    /// <summary>Size with the longest side = <paramref name="side"/>, aspect kept; nearest when enlarging.</summary>
    private static (int Width, int Height, ResizeFilter Filter) Fit(int width, int height, int side)
    {
        double scale = (double)side / Math.Max(width, height);
        int w = Math.Max(1, (int)Math.Round(width * scale)), h = Math.Max(1, (int)Math.Round(height * scale));
        return (w, h, scale > 1 ? ResizeFilter.Nearest : ResizeFilter.Bilinear);
    }
}
