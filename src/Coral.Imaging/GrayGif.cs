namespace Coral.Imaging;

/// <summary>
/// A minimal GIF89a writer: 256-level gray palette, one image per frame, 8-bit pixels. SkiaSharp decodes GIF but
/// cannot encode it, and test and fault corpora need real GIFs (animated ones, and ones with huge claimed sizes).
/// </summary>
public static class GrayGif
{
    /// <summary>Encodes frames of <paramref name="width"/> × <paramref name="height"/> gray levels (row-major bytes).</summary>
    /// <remarks>LZW with 9-bit codes only: a Clear code every 200 literals keeps the code table from growing,
    /// which makes the writer tiny at the cost of no compression.</remarks>
    public static byte[] Encode(int width, int height, params byte[][] frames)
    {
        if (width is < 1 or > ushort.MaxValue || height is < 1 or > ushort.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(width), $"GIF sizes are 1..65535, not {width}x{height}");
        var o = new List<byte>();
        o.AddRange("GIF89a"u8.ToArray());
        o.AddRange([(byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0xF7, 0, 0]);
        for (int k = 0; k < 256; k++) o.AddRange([(byte)k, (byte)k, (byte)k]);
        foreach (var pixels in frames)
        {
            if (frames.Length > 1) o.AddRange([0x21, 0xF9, 4, 0, 10, 0, 0, 0]); // graphic control: 0.1 s delay
            o.AddRange([0x2C, 0, 0, 0, 0, (byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0]);
            AppendImageData(o, pixels);
        }
        o.Add(0x3B);
        return o.ToArray();
    }

    private static void AppendImageData(List<byte> o, byte[] pixels)
    {
        o.Add(8); // LZW minimum code size
        var codes = new List<int> { 256 };
        for (int i = 0; i < pixels.Length; i++)
        {
            if (i > 0 && i % 200 == 0) codes.Add(256);
            codes.Add(pixels[i]);
        }
        codes.Add(257);
        var packed = new List<byte>();
        int acc = 0, bits = 0;
        foreach (var c in codes)
        {
            acc |= c << bits; bits += 9;
            while (bits >= 8) { packed.Add((byte)acc); acc >>= 8; bits -= 8; }
        }
        if (bits > 0) packed.Add((byte)acc);
        for (int i = 0; i < packed.Count; i += 255)
        {
            int n = Math.Min(255, packed.Count - i);
            o.Add((byte)n);
            o.AddRange(packed.GetRange(i, n));
        }
        o.Add(0);
    }
}
