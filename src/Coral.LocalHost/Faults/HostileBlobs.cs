using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Coral.Imaging;
using Coral.LocalHost.Serving;
using SkiaSharp;

namespace Coral.LocalHost.Faults;

/// <summary>
/// One fault-injection blob: what is uploaded, and the error record the scorer must write for it.
/// <paramref name="ExpectedError"/> is the exception type name the record's <c>errorType</c> must carry.
/// </summary>
public sealed record HostileBlob(string Name, string Kind, byte[] Content, string ExpectedError, string ReasonFragment);

/// <summary>
/// The 50 corrupt or hostile blobs of the load-and-fault bench and its tests: empty, truncated, bomb headers
/// (and a real deflate bomb), non-images, unsupported formats, oversize, and path-like, unicode or very long names.
/// Every one must end with exactly one rejected record naming its reason; none may stop or stall the host.
/// </summary>
public static class HostileBlobs
{
    public const string Prefix = "hostile/";

    /// <param name="maxInputBytes">The scorer's byte limit: the oversize blobs are just above it.</param>
    public static IReadOnlyList<HostileBlob> Create(long maxInputBytes)
    {
        var rng = new Random(20240611);
        byte[] png = ImageCodec.EncodePng(Gradient(28, 28));
        byte[] jpeg = Jpeg(Gradient(28, 28));
        byte[] bmp = Bmp(28, 28);
        byte[] gif = Gif(28, 28);
        byte[] webp = Webp(Gradient(28, 28));
        byte[] Random(int n) { var b = new byte[n]; rng.NextBytes(b); return b; }
        byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

        const string Empty = nameof(EmptyImageException), Truncated = nameof(TruncatedImageException), Corrupt = nameof(CorruptImageException),
            Bomb = nameof(ImageDimensionsTooLargeException), NotImage = nameof(NotAnImageException),
            Unsupported = nameof(UnsupportedImageFormatException), TooLarge = nameof(ImageTooLargeException);
        var list = new List<HostileBlob>
        {
            // empty
            new("empty.png", "empty", [], Empty, "empty"),
            new("empty.jpg", "empty", [], Empty, "empty"),
            new("empty-no-extension", "empty", [], Empty, "empty"),
            // truncated: partial uploads of every format
            new("truncated-half.png", "truncated", png[..(png.Length / 2)], Truncated, "truncated"),
            new("truncated-no-iend.png", "truncated", png[..^12], Truncated, "truncated"),
            new("truncated-signature-only.png", "truncated", png[..8], Truncated, "truncated"),
            new("truncated-ihdr-only.png", "truncated", png[..33], Truncated, "truncated"),
            new("truncated-half.jpg", "truncated", jpeg[..(jpeg.Length / 2)], Truncated, "truncated"),
            new("truncated-header.jpg", "truncated", jpeg[..20], Truncated, "truncated"),
            new("truncated-half.bmp", "truncated", bmp[..(bmp.Length / 2)], Truncated, "truncated"),
            new("truncated-half.webp", "truncated", webp[..(webp.Length / 2)], Truncated, "truncated"),
            new("truncated-header-only.bmp", "truncated", bmp[..30], Truncated, "truncated"),
            new("truncated-half.gif", "truncated", gif[..(gif.Length / 2)], Truncated, "truncated"),
            // bombs: headers claiming huge canvases, refused before any pixel memory is allocated
            new("bomb-100000x100000.png", "bomb", HostileImages.PngClaiming(100_000, 100_000), Bomb, "pixels, above the limit"),
            new("bomb-deflate-8000x8000.png", "bomb", HostileImages.DeflateBombPng(8000, 8000), Bomb, "pixels, above the limit"),
            new("bomb-60000x60000.jpg", "bomb", HostileImages.JpegClaiming(jpeg, 60_000, 60_000), Bomb, "pixels, above the limit"),
            new("bomb-65535x65535.gif", "bomb", GifClaiming(65535, 65535), Bomb, "pixels, above the limit"),
            new("bomb-50000x50000.bmp", "bomb", BmpClaiming(50_000, 50_000), Bomb, "pixels, above the limit"),
            new("bomb-600-scans.jpg", "bomb", [.. jpeg.AsSpan(0, jpeg.Length - 2), .. Enumerable.Repeat<byte[]>([0xFF, 0xDA, 0x00, 0x02], 600).SelectMany(b => b), 0xFF, 0xD9],
                Corrupt, "scans, above the limit"),
            // corrupt headers of known formats
            new("corrupt-zero-size.png", "corrupt", HostileImages.PngClaiming(0, 0), Corrupt, "PNG image is corrupt"),
            new("corrupt-ihdr-crc.png", "corrupt", FlipByte(png, 20), Corrupt, "PNG image is corrupt"),
            new("corrupt-bmp-header.bmp", "corrupt", [.. bmp[..14], .. new byte[] { 40, 0, 0, 0 }, .. Enumerable.Repeat((byte)0xFF, bmp.Length - 18)], Corrupt, "BMP image is corrupt"),
            // not images at all
            new("random-1k.png", "non-image", Random(1024), NotImage, "not an image"),
            new("random-100k.jpg", "non-image", Random(100_000), NotImage, "not an image"),
            new("hello.png", "non-image", Text("hello, world\n"), NotImage, "not an image"),
            new("record.json", "non-image", Text("{\"label\":\"coat\",\"image\":null}"), NotImage, "not an image"),
            new("page.html", "non-image", Text("<html><script>alert(1)</script><img src=x onerror=alert(2)></html>"), NotImage, "not an image"),
            new("vector.svg", "non-image", Text("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1e9\" height=\"1e9\"/>"), NotImage, "not an image"),
            new("table.csv", "non-image", Text("a,b,c\n1,2,3\n"), NotImage, "not an image"),
            new("bm-but-text.bmp", "non-image", Text("BMW parts list: 1x wheel, 4x bolts"), NotImage, "not an image"),
            new("doc.pdf", "non-image", Text("%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"), NotImage, "not an image"),
            new("archive.zip", "non-image", [0x50, 0x4B, 0x03, 0x04, .. Random(200)], NotImage, "not an image"),
            new("program.elf", "non-image", [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, .. Random(120)], NotImage, "not an image"),
            new("nul-bytes.png", "non-image", new byte[4096], NotImage, "not an image"),
            // images in formats this pipeline does not accept
            new("scan.tiff", "unsupported", [(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], Unsupported, "TIFF images are not supported"),
            new("photo.heic", "unsupported", [0, 0, 0, 0x18, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8], Unsupported, "HEIF images are not supported"),
            new("icon.ico", "unsupported", Ico(png), Unsupported, "ICO images are not supported"),
            new("layers.psd", "unsupported", [.. "8BPS"u8, 0, 1, .. new byte[20]], Unsupported, "PSD images are not supported"),
            // above the byte limit: refused from the blob's size, before it is downloaded
            new("oversize-random.png", "oversize", Random((int)maxInputBytes + 1), TooLarge, "-byte limit"),
            new("oversize-padded.png", "oversize", [.. png, .. new byte[maxInputBytes + 1024 - png.Length]], TooLarge, "-byte limit"),
            // hostile names (with bad content, so each still needs its own error record)
            new("a/../traversal.png", "name", Text("../../etc/passwd"), NotImage, "not an image"),
            new("dir/sub/deeper/nested.png", "name", png[..40], Truncated, "truncated"),
            new("..%2F..%2Fetc%2Fpasswd", "name", Text("root:x:0:0:root:/root:/bin/bash"), NotImage, "not an image"),
            // Azurite turns backslashes into "/": listed as ".../slash/../name.png", a name no URL can reach.
            new("back\\slash\\..\\name.png", "name", [], BlobScanner.UnaddressableBlobName, "cannot be addressed"),
            new("ünïcødé 名前 файл.png", "name", Random(64), NotImage, "not an image"),
            new("  spaces  in  name  .png", "name", png[..(png.Length - 30)], Truncated, "truncated"),
            new("hash#and?query&x=1.png", "name", Text("?x=1#frag"), NotImage, "not an image"),
            new("semi;colon'quote\"lt<gt>.png", "name", HostileImages.PngClaiming(50_000, 50_000), Bomb, "pixels, above the limit"),
            new("emoji-🐟-🪸.jpg", "name", jpeg[..(jpeg.Length - 40)], Truncated, "truncated"),
            new(new string('x', 900) + ".png", "name", Text("very long name"), NotImage, "not an image"),
        };
        return list.Select(h => h with { Name = Prefix + h.Name }).ToList();
    }

    private static ImageTensor Gradient(int h, int w)
    {
        var px = new float[h * w];
        for (int i = 0; i < px.Length; i++) px[i] = (i % w + i / w) / (float)(h + w);
        return new ImageTensor(px, 1, h, w);
    }

    private static byte[] FlipByte(byte[] b, int at) { var c = (byte[])b.Clone(); c[at] ^= 0xFF; return c; }

    private static byte[] SkiaEncode(ImageTensor image, Func<SKPixmap, SKData?> encode)
    {
        int n = image.Width * image.Height;
        var rgba = new byte[4 * n];
        for (int i = 0; i < n; i++)
        {
            byte v = (byte)MathF.Round(image.Data[i] * 255f);
            rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = v;
            rgba[4 * i + 3] = 255;
        }
        using var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var pixmap = bitmap.PeekPixels();
        using var data = encode(pixmap) ?? throw new InvalidOperationException("Skia could not encode the fault-injection sample");
        return data.ToArray();
    }

    private static byte[] Jpeg(ImageTensor image) => SkiaEncode(image, p => p.Encode(SKEncodedImageFormat.Jpeg, 90));

    private static byte[] Webp(ImageTensor image) => SkiaEncode(image, p => p.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100)));

    /// <summary>Uncompressed 24-bit gray BMP (bottom-up rows padded to 4 bytes).</summary>
    private static byte[] Bmp(int w, int h)
    {
        int stride = (3 * w + 3) & ~3;
        var bmp = BmpHeader(w, h, 54 + stride * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int d = 54 + y * stride + 3 * x;
                bmp[d] = bmp[d + 1] = bmp[d + 2] = (byte)(x * 9);
            }
        return bmp;
    }

    private static byte[] BmpHeader(int w, int h, int length)
    {
        var bmp = new byte[length];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        return bmp;
    }

    /// <summary>A BMP header claiming w × h whose declared file size is honest (so it is not merely truncated).</summary>
    private static byte[] BmpClaiming(int w, int h) => BmpHeader(w, h, 54 + 64);

    /// <summary>A valid gray GIF of w × h (pixel i = i mod 256).</summary>
    private static byte[] Gif(int w, int h) => GrayGif.Encode(w, h, Enumerable.Range(0, w * h).Select(i => (byte)i).ToArray());

    /// <summary>A complete GIF whose screen and frame claim w × h, with almost no pixel data.</summary>
    private static byte[] GifClaiming(int w, int h) =>
    [
        .. "GIF89a"u8, (byte)w, (byte)(w >> 8), (byte)h, (byte)(h >> 8), 0x80, 0, 0, 0, 0, 0, 255, 255, 255,
        0x2C, 0, 0, 0, 0, (byte)w, (byte)(w >> 8), (byte)h, (byte)(h >> 8), 0,
        2, 2, 0x4C, 0x01, 0, 0x3B,
    ];

    /// <summary>An ICO wrapping a PNG: Skia could read it, this pipeline does not accept it.</summary>
    private static byte[] Ico(byte[] png)
    {
        var ico = new byte[22 + png.Length];
        ico[2] = 1; ico[4] = 1; ico[6] = 28; ico[7] = 28;
        BinaryPrimitives.WriteInt16LittleEndian(ico.AsSpan(10), 1);
        BinaryPrimitives.WriteInt16LittleEndian(ico.AsSpan(12), 32);
        BinaryPrimitives.WriteInt32LittleEndian(ico.AsSpan(14), png.Length);
        BinaryPrimitives.WriteInt32LittleEndian(ico.AsSpan(18), 22);
        png.CopyTo(ico, 22);
        return ico;
    }
}
