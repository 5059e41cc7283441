using System.Buffers.Binary;

namespace Coral.Imaging;

/// <summary>
/// Names a format from its leading bytes. Skia's own sniffing cannot tell "short garbage" from
/// "truncated PNG" (both are IncompleteInput), and cannot name formats it does not read (TIFF, HEIF here).
/// </summary>
internal static class ImageSniffer
{
    public static ImageFormat? Supported(ReadOnlySpan<byte> b)
    {
        if (b.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])) return ImageFormat.Png;
        if (b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return ImageFormat.Jpeg;
        if (b.StartsWith("GIF87a"u8) || b.StartsWith("GIF89a"u8)) return ImageFormat.Gif;
        if (b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8)) return ImageFormat.Webp;
        // "BM" alone is common in text; also require a known DIB header size when the bytes reach it.
        if (b.StartsWith("BM"u8) && (b.Length < 18 || BmpHeaderSizes.Contains(BinaryPrimitives.ReadUInt32LittleEndian(b[14..18]))))
            return ImageFormat.Bmp;
        return null;
    }

    private static readonly uint[] BmpHeaderSizes = [12, 16, 40, 52, 56, 64, 108, 124];

    /// <summary>Start-of-scan markers in a JPEG. Entropy-coded data stuffs every FF as FF 00, so FF DA
    /// only appears as a marker (or in an embedded thumbnail, which only over-counts).</summary>
    public static int JpegScanCount(ReadOnlySpan<byte> b)
    {
        int count = 0;
        for (int i = b.IndexOf((ReadOnlySpan<byte>)[0xFF, 0xDA]); i >= 0; )
        {
            count++;
            int next = b[(i + 2)..].IndexOf((ReadOnlySpan<byte>)[0xFF, 0xDA]);
            i = next < 0 ? -1 : i + 2 + next;
        }
        return count;
    }

    /// <summary>A well-known image format this project does not decode, or null.</summary>
    public static string? Unsupported(ReadOnlySpan<byte> b)
    {
        if (b.StartsWith("II*\0"u8) || b.StartsWith("MM\0*"u8)) return "TIFF";
        if (b.StartsWith((ReadOnlySpan<byte>)[0, 0, 1, 0])) return "ICO";
        if (b.StartsWith((ReadOnlySpan<byte>)[0, 0, 2, 0])) return "CUR";
        if (b.Length >= 12 && b[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = b[8..12];
            if (brand.SequenceEqual("avif"u8) || brand.SequenceEqual("avis"u8)) return "AVIF";
            if (brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("mif1"u8) || brand.SequenceEqual("msf1"u8)) return "HEIF";
        }
        if (b.StartsWith("8BPS"u8)) return "PSD";
        if (b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x0A]) || b.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'J', (byte)'X', (byte)'L', (byte)' '])) return "JPEG XL";
        if (b.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'j', (byte)'P', (byte)' ', (byte)' '])) return "JPEG 2000";
        if (b.StartsWith("qoif"u8)) return "QOI";
        if (b.StartsWith("DDS "u8)) return "DDS";
        return null;
    }

    /// <summary>
    /// True when the bytes end before the file's own structure says it does: no PNG IEND chunk, no JPEG
    /// EOI marker, no GIF trailer, or fewer bytes than the WebP RIFF or BMP header declares. Catches
    /// partial uploads that Skia would otherwise decode "successfully" with padded rows.
    /// </summary>
    public static bool EndsEarly(ImageFormat format, ReadOnlySpan<byte> b) => format switch
    {
        ImageFormat.Png => b.IndexOf("IEND"u8) < 0,
        ImageFormat.Jpeg => b.LastIndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]) < 0,
        ImageFormat.Gif => b[^1] != 0x3B,
        ImageFormat.Webp => b.Length < 8 + (long)BinaryPrimitives.ReadUInt32LittleEndian(b[4..8]),
        ImageFormat.Bmp => b.Length < 6 || b.Length < (long)BinaryPrimitives.ReadUInt32LittleEndian(b[2..6]),
        _ => false,
    };

    public static ImageFormat? FromSkia(SkiaSharp.SKEncodedImageFormat f) => f switch
    {
        SkiaSharp.SKEncodedImageFormat.Png => ImageFormat.Png,
        SkiaSharp.SKEncodedImageFormat.Jpeg => ImageFormat.Jpeg,
        SkiaSharp.SKEncodedImageFormat.Bmp => ImageFormat.Bmp,
        SkiaSharp.SKEncodedImageFormat.Gif => ImageFormat.Gif,
        SkiaSharp.SKEncodedImageFormat.Webp => ImageFormat.Webp,
        _ => null,
    };
}
