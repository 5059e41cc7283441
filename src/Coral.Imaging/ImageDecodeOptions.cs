namespace Coral.Imaging;

/// <summary>
/// Resampling filter for <see cref="ImageCodec.Resize"/> and decode-time resizing. The Skia sampling used:
/// <list type="bullet">
/// <item><see cref="Nearest"/>: <c>SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None)</c>.</item>
/// <item><see cref="Bilinear"/>: <c>SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None)</c>.</item>
/// <item><see cref="Cubic"/>: <c>SKSamplingOptions(SKCubicResampler.Mitchell)</c> (Mitchell–Netravali,
/// B = C = 1/3: little ringing).</item>
/// </list>
/// Bilinear and Cubic first average k × k blocks (k = floor(source / (2 · target)) per axis) when
/// shrinking by more than 2×, so large reductions do not alias; Skia then does the last ≤ 2× step.
/// </summary>
public enum ResizeFilter { Nearest, Bilinear, Cubic }

/// <summary>Formats <see cref="ImageCodec"/> decodes. Anything else is <see cref="UnsupportedImageFormatException"/>.</summary>
public enum ImageFormat { Png, Jpeg, Bmp, Gif, Webp }

/// <summary>What <see cref="ImageCodec.Probe(byte[], ImageDecodeOptions, string)"/> learns from the header.
/// Width and height are as displayed (after the EXIF orientation, if any).</summary>
public sealed record ImageInfo(ImageFormat Format, int Width, int Height);

/// <summary>How to decode: output size and channels, resize filter, and the safety limits.</summary>
public sealed record ImageDecodeOptions
{
    public const long DefaultMaxBytes = 20L * 1024 * 1024;
    public const long DefaultMaxPixels = 40_000_000;

    public static ImageDecodeOptions Default { get; } = new();

    /// <summary>Output width; null keeps the source width.</summary>
    public int? Width { get; init; }

    /// <summary>Output height; null keeps the source height.</summary>
    public int? Height { get; init; }

    /// <summary>1 (grayscale, ITU-R BT.601 luma) or 3 (RGB).</summary>
    public int Channels { get; init; } = 3;

    public ResizeFilter Filter { get; init; } = ResizeFilter.Bilinear;

    /// <summary>Encoded inputs larger than this are refused with <see cref="ImageTooLargeException"/>.</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>Headers claiming more pixels (width × height) are refused with
    /// <see cref="ImageDimensionsTooLargeException"/> before any pixel memory is allocated.</summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>The decoded-bytes budget large decodes reserve from; null = the process-wide <see cref="DecodeBudget.Shared"/>.</summary>
    public DecodeBudget? Budget { get; init; }

    internal void Validate()
    {
        if (Width is <= 0) throw new ArgumentOutOfRangeException(nameof(Width), Width, "output width must be positive");
        if (Height is <= 0) throw new ArgumentOutOfRangeException(nameof(Height), Height, "output height must be positive");
        if (Channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(Channels), Channels, "channels must be 1 or 3");
        if (!Enum.IsDefined(Filter)) throw new ArgumentOutOfRangeException(nameof(Filter), Filter, "unknown resize filter");
        // One byte of headroom lets the bounded reader tell "exactly the limit" from "above it".
        if (MaxBytes <= 0 || MaxBytes >= Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(MaxBytes), MaxBytes, $"byte limit must be in [1, {Array.MaxLength - 1}]");
        // RGBA decode buffer must fit one .NET array.
        if (MaxPixels <= 0 || MaxPixels > Array.MaxLength / 4)
            throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, $"pixel limit must be in [1, {Array.MaxLength / 4}]");
        if ((long)(Width ?? 1) * (Height ?? 1) > MaxPixels)
            throw new ArgumentOutOfRangeException(nameof(Width), $"output size {Width}x{Height} is above the pixel limit {MaxPixels}");
    }
}
