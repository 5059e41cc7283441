using System.Buffers.Binary;
using System.IO.Compression;

namespace Coral.Data;

/// <summary>
/// Reads the IDX format used by MNIST and Fashion-MNIST (plain or gzip-compressed).
/// Format: 0x00 0x00 type ndim, then ndim big-endian int32 sizes, then the data.
/// </summary>
public static class IdxReader
{
    private const byte UnsignedByteType = 0x08;
    // 60k images of 28x28 are 47 MB; refuse anything that cannot be one byte array.
    private static readonly long MaxElements = Array.MaxLength;
    // A header can claim gigabytes: grow the buffer as data actually arrives instead of trusting it.
    private const int InitialChunk = 16 << 20;

    private static readonly Dictionary<byte, string> OtherTypes = new()
    {
        [0x09] = "signed byte", [0x0B] = "int16", [0x0C] = "int32", [0x0D] = "float32", [0x0E] = "float64",
    };

    /// <summary>Reads an unsigned-byte IDX tensor; returns its shape and data. Gzip is detected by its
    /// magic bytes (1F 8B), not by the file name.</summary>
    public static (int[] Shape, byte[] Data) ReadBytes(string path)
    {
        if (!File.Exists(path)) throw new DatasetFormatException(path, "file not found");
        using var file = File.OpenRead(path);
        bool gzip = file.ReadByte() == 0x1F && file.ReadByte() == 0x8B;
        file.Position = 0;
        using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        try { return ReadBytes(stream, path); }
        catch (InvalidDataException e) { throw new DatasetFormatException(path, "not a valid gzip stream", e); }
    }

    public static (int[] Shape, byte[] Data) ReadBytes(Stream stream, string sourceName)
    {
        Span<byte> magic = stackalloc byte[4];
        ReadExactly(stream, magic, sourceName, "the 4-byte magic number");
        if (magic[0] != 0 || magic[1] != 0)
            throw new DatasetFormatException(sourceName, $"bad IDX magic 0x{magic[0]:X2}{magic[1]:X2}{magic[2]:X2}{magic[3]:X2} (expected 0x0000TTDD)");
        if (magic[2] != UnsignedByteType)
            throw new DatasetFormatException(sourceName, OtherTypes.TryGetValue(magic[2], out var type)
                ? $"IDX element type 0x{magic[2]:X2} ({type}) is not supported; expected unsigned byte (0x08)"
                : $"unknown IDX element type 0x{magic[2]:X2}; expected unsigned byte (0x08)");
        int ndim = magic[3];
        if (ndim < 1 || ndim > 4)
            throw new DatasetFormatException(sourceName, $"IDX rank {ndim} is not between 1 and 4");
        var shape = new int[ndim];
        Span<byte> dim = stackalloc byte[4];
        long total = 1;
        for (int i = 0; i < ndim; i++)
        {
            ReadExactly(stream, dim, sourceName, $"dimension {i}");
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(dim);
            if (shape[i] <= 0) throw new DatasetFormatException(sourceName, $"dimension {i} is {shape[i]}");
            total *= shape[i];
            if (total > MaxElements) throw new DatasetFormatException(sourceName, $"shape [{string.Join(",", shape[..(i + 1)])}] is too large");
        }
        string what = $"{total} data bytes for shape [{string.Join(",", shape)}]";
        if (stream.CanSeek && stream.Length - stream.Position < total)
            throw new DatasetFormatException(sourceName, $"truncated: {stream.Length - stream.Position} bytes left but the header needs {what}");
        var data = new byte[Math.Min(total, InitialChunk)];
        int filled = 0;
        while (true)
        {
            ReadExactly(stream, data.AsSpan(filled), sourceName, what, filled);
            filled = data.Length;
            if (filled == total) break;
            Array.Resize(ref data, (int)Math.Min(total, 2L * filled));
        }
        if (stream.ReadByte() != -1)
            throw new DatasetFormatException(sourceName, $"trailing bytes after the {total} data bytes for shape [{string.Join(",", shape)}]");
        return (shape, data);
    }

    private static void ReadExactly(Stream s, Span<byte> buffer, string source, string what, long alreadyRead = 0)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = s.Read(buffer[read..]);
            if (n == 0) throw new DatasetFormatException(source, $"truncated: ended after {alreadyRead + read} bytes while reading {what}");
            read += n;
        }
    }
}
