using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Coral.Imaging;

/// <summary>
/// Crafted files that probe a decoder's limits: headers claiming huge canvases and a real decompression bomb.
/// The imaging tests and the pipeline's fault-injection corpus (`coral bench pipeline`) both build on these.
/// </summary>
public static class HostileImages
{
    /// <summary>An RGB PNG whose IHDR claims width × height, with a tiny IDAT: a decompression-bomb header.</summary>
    public static byte[] PngClaiming(int width, int height)
    {
        var o = PngStart(width, height, colorType: 2);
        AddChunk(o, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        AddChunk(o, "IEND", []);
        return o.ToArray();
    }

    /// <summary>A real decompression bomb: a complete, valid grayscale PNG of zeros (~1000:1).</summary>
    public static byte[] DeflateBombPng(int width, int height)
    {
        var o = PngStart(width, height, colorType: 0);
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[width + 1]; // filter byte 0 + zero pixels
            for (int y = 0; y < height; y++) z.Write(row);
        }
        AddChunk(o, "IDAT", ms.ToArray());
        AddChunk(o, "IEND", []);
        return o.ToArray();
    }

    /// <summary>A copy of a baseline JPEG whose SOF0 segment claims width × height.</summary>
    public static byte[] JpegClaiming(byte[] jpeg, int width, int height)
    {
        var copy = (byte[])jpeg.Clone();
        for (int i = 2; i + 9 < copy.Length; i++)
            if (copy[i] == 0xFF && copy[i + 1] == 0xC0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 5), (ushort)height);
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 7), (ushort)width);
                return copy;
            }
        throw new ArgumentException("the JPEG has no baseline SOF0 marker to rewrite", nameof(jpeg));
    }

    private static List<byte> PngStart(int width, int height, byte colorType)
    {
        var o = new List<byte>([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = colorType; // 8 bits per sample
        AddChunk(o, "IHDR", ihdr);
        return o;
    }

    private static void AddChunk(List<byte> o, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        o.AddRange(len);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        o.AddRange(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        o.AddRange(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }
}
