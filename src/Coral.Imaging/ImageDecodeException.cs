namespace Coral.Imaging;

/// <summary>An encoded image could not be accepted. The message starts with <see cref="SourceName"/>.</summary>
public abstract class ImageDecodeException(string sourceName, string problem, Exception? inner = null)
    : Exception($"{sourceName}: {problem}", inner), ICoralInputError
{
    /// <summary>The file, blob or other name the caller gave for the input.</summary>
    public string SourceName { get; } = sourceName;

    /// <summary>What is wrong, without the source name.</summary>
    public string Problem { get; } = problem;
}

/// <summary>The input has zero bytes.</summary>
public sealed class EmptyImageException(string sourceName)
    : ImageDecodeException(sourceName, "image is empty (0 bytes)");

/// <summary>A recognised format whose data ends early.</summary>
public sealed class TruncatedImageException(string sourceName, string format, long byteCount)
    : ImageDecodeException(sourceName, $"{format} image is truncated (data ends early, {byteCount} bytes)");

/// <summary>A recognised format whose header or data is invalid.</summary>
public sealed class CorruptImageException(string sourceName, string format, string detail)
    : ImageDecodeException(sourceName, $"{format} image is corrupt: {detail}");

/// <summary>The bytes are not an image in any format known here.</summary>
public sealed class NotAnImageException(string sourceName)
    : ImageDecodeException(sourceName, "not an image (no PNG, JPEG, BMP, GIF or WebP signature)");

/// <summary>An image in a format other than PNG, JPEG, BMP, GIF or WebP.</summary>
public sealed class UnsupportedImageFormatException(string sourceName, string format)
    : ImageDecodeException(sourceName, $"{format} images are not supported (use PNG, JPEG, BMP, GIF or WebP)")
{
    public string Format { get; } = format;
}

/// <summary>The encoded input is above the byte limit.</summary>
public sealed class ImageTooLargeException(string sourceName, long maxBytes, long? actualBytes)
    : ImageDecodeException(sourceName, actualBytes is { } n
        ? $"image is {n} bytes, above the limit of {maxBytes} bytes"
        : $"image is more than the limit of {maxBytes} bytes")
{
    public long MaxBytes { get; } = maxBytes;
}

/// <summary>The header claims more pixels than allowed (a decompression bomb, or just too big).</summary>
public sealed class ImageDimensionsTooLargeException(string sourceName, int width, int height, long maxPixels)
    : ImageDecodeException(sourceName, $"image header claims {width}x{height} = {(long)width * height} pixels, above the limit of {maxPixels}")
{
    public int Width { get; } = width;
    public int Height { get; } = height;
    public long MaxPixels { get; } = maxPixels;
}

/// <summary>Decoding the image needs more memory than the process-wide decode budget allows at all.</summary>
public sealed class DecodeBudgetExceededException(string sourceName, long neededBytes, long budgetBytes)
    : ImageDecodeException(sourceName, $"decoding needs {neededBytes >> 20} MiB, above the decode budget of {budgetBytes >> 20} MiB")
{
    public long NeededBytes { get; } = neededBytes;
}
