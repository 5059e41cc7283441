using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Coral.Imaging;
using SkiaSharp;

namespace Coral.Imaging.Tests;

/// <summary>Builds the test corpus: tensors holding k/255 values and their encodings in every format.</summary>
internal static class TestImages
{
    /// <summary>Random 8-bit-exact tensor (every value is k/255).</summary>
    public static ImageTensor Random8Bit(int channels, int height, int width, int seed)
    {
        var rng = new Random(seed);
        var data = new float[channels * height * width];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(256) / 255f;
        return new ImageTensor(data, channels, height, width);
    }

    /// <summary>Smooth RGB gradient: survives lossy codecs with small error.</summary>
    public static ImageTensor Gradient(int height, int width)
    {
        int plane = height * width;
        var data = new float[3 * plane];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                data[i] = MathF.Round(255f * x / Math.Max(1, width - 1)) / 255f;
                data[plane + i] = MathF.Round(255f * y / Math.Max(1, height - 1)) / 255f;
                data[2 * plane + i] = 128 / 255f;
            }
        return new ImageTensor(data, 3, height, width);
    }

    public static ImageTensor Constant(int channels, int height, int width, float value)
    {
        var data = new float[channels * height * width];
        Array.Fill(data, value);
        return new ImageTensor(data, channels, height, width);
    }

    public static byte[] Png(ImageTensor image) => ImageCodec.EncodePng(image);

    public static byte[] Jpeg(ImageTensor image, int quality = 95) => SkiaEncode(image, p => p.Encode(SKEncodedImageFormat.Jpeg, quality));

    public static byte[] WebpLossless(ImageTensor image) => SkiaEncode(image, p => p.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100)));

    public static byte[] WebpLossy(ImageTensor image) => SkiaEncode(image, p => p.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossy, 90)));

    private static byte[] SkiaEncode(ImageTensor image, Func<SKPixmap, SKData?> encode)
    {
        var rgba = Rgba(image);
        using var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var pixmap = bitmap.PeekPixels();
        using var data = encode(pixmap) ?? throw new InvalidOperationException("Skia could not encode");
        return data.ToArray();
    }

    /// <summary>RGBA bytes of a 1- or 3-channel tensor (alpha 255).</summary>
    public static byte[] Rgba(ImageTensor image)
    {
        int plane = image.Width * image.Height;
        var px = new byte[4 * plane];
        for (int i = 0; i < plane; i++)
            for (int ch = 0; ch < 3; ch++)
                px[4 * i + ch] = (byte)MathF.Round(image.Data[(image.Channels == 3 ? ch : 0) * plane + i] * 255f);
        for (int i = 0; i < plane; i++) px[4 * i + 3] = 255;
        return px;
    }

    /// <summary>Uncompressed 24-bit BMP (BITMAPINFOHEADER, bottom-up rows padded to 4 bytes). Skia has no BMP encoder.</summary>
    public static byte[] Bmp(ImageTensor image)
    {
        var rgba = Rgba(image);
        int w = image.Width, h = image.Height, stride = (3 * w + 3) & ~3;
        var bmp = new byte[54 + stride * h];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(34), stride * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int s = 4 * (y * w + x), d = 54 + (h - 1 - y) * stride + 3 * x;
                bmp[d] = rgba[s + 2]; bmp[d + 1] = rgba[s + 1]; bmp[d + 2] = rgba[s];
            }
        return bmp;
    }

    /// <summary>A GIF with one image per frame (1-channel tensors), written by <see cref="GrayGif"/>.</summary>
    public static byte[] Gif(params ImageTensor[] frames) =>
        GrayGif.Encode(frames[0].Width, frames[0].Height,
            frames.Select(f => f.Data.Select(v => (byte)MathF.Round(v * 255f)).ToArray()).ToArray());

    /// <summary>ICO wrapping a PNG: Skia reads it, this project does not accept it.</summary>
    public static byte[] Ico(ImageTensor image)
    {
        var png = Png(image);
        var ico = new byte[22 + png.Length];
        ico[2] = 1; ico[4] = 1;
        ico[6] = (byte)image.Width; ico[7] = (byte)image.Height;
        BinaryPrimitives.WriteInt16LittleEndian(ico.AsSpan(10), 1);
        BinaryPrimitives.WriteInt16LittleEndian(ico.AsSpan(12), 32);
        BinaryPrimitives.WriteInt32LittleEndian(ico.AsSpan(14), png.Length);
        BinaryPrimitives.WriteInt32LittleEndian(ico.AsSpan(18), 22);
        png.CopyTo(ico, 22);
        return ico;
    }

    /// <summary>8x8 WBMP (type 0, 1 bit per pixel): another format Skia reads but we refuse.</summary>
    public static byte[] Wbmp() => [0, 0, 8, 8, 0xFF, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0xFF];

    public static byte[] TiffHeader() => [(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    public static byte[] HeifHeader() => [0, 0, 0, 0x18, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8];

    /// <summary>Inserts an EXIF APP1 segment with the given orientation right after the JPEG's SOI.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1,
            (byte)(orientation >> 8), (byte)orientation, 0, 0, 0, 0, 0, 0];
        byte[] payload = [.. "Exif\0\0"u8, .. tiff];
        int segLen = payload.Length + 2;
        return [0xFF, 0xD8, 0xFF, 0xE1, (byte)(segLen >> 8), (byte)segLen, .. payload, .. jpeg.AsSpan(2)];
    }

    /// <summary>Read-only, non-seekable: the decoder must count bytes as it reads, like a network upload.</summary>
    public abstract class ForwardOnlyStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Never ends; counts what was handed out.</summary>
    public sealed class EndlessStream : ForwardOnlyStream
    {
        public long BytesRead { get; private set; }
        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Fill(buffer, (byte)0x42, offset, count);
            BytesRead += count;
            return count;
        }
    }

    /// <summary>Hides seeking and hands out at most 1000 bytes per read.</summary>
    public sealed class NonSeekable(Stream inner) : ForwardOnlyStream
    {
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1000));
    }
}
