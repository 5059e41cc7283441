using SkiaSharp;

namespace Coral.Imaging;

/// <summary>
/// Decodes PNG, JPEG, BMP, GIF (first frame) and WebP into [0, 1] channel-first tensors, and encodes
/// tensors to PNG. Every bad input ends in an <see cref="ImageDecodeException"/> naming the source;
/// limits are checked before anything large is read or allocated.
/// </summary>
public static partial class ImageCodec
{
    // k/255 exactly as float, so 8-bit PNG round trips are bit-exact.
    private static readonly float[] ByteToUnit = Enumerable.Range(0, 256).Select(k => k / 255f).ToArray();

    private const int MaxJpegScans = 500;

    /// <summary>File extensions of the formats <see cref="Decode(byte[], ImageDecodeOptions, string)"/> reads (lower case).</summary>
    public static readonly IReadOnlySet<string> FileExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    /// <summary>Reads the stream to its end (never more than <see cref="ImageDecodeOptions.MaxBytes"/> + 1 bytes), then decodes.</summary>
    public static ImageTensor Decode(Stream stream, ImageDecodeOptions options, string sourceName)
        => Decode(ReadBounded(stream, Checked(options), sourceName), options, sourceName);

    /// <summary>Decodes the first frame to options.Channels at options.Width × options.Height (null: source
    /// size), after the EXIF orientation. Bad input throws an <see cref="ImageDecodeException"/>.</summary>
    public static ImageTensor Decode(byte[] bytes, ImageDecodeOptions options, string sourceName)
    {
        using var codec = Open(bytes, Checked(options), sourceName, out var format);
        var size = DecodeSize(codec, format, options);
        // Decoding to unpremultiplied RGBA drops alpha the way PIL's convert("RGB") does.
        var decodeInfo = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        int k = ReductionFactor(size, codec.EncodedOrigin, options);
        if (k > 1)
        {
            var (reduced, rw, rh) = DecodeReduced(codec, decodeInfo, k, bytes.Length, format, sourceName, options.Budget ?? DecodeBudget.Shared);
            var small = ToTensor(reduced, rw, rh, options.Channels, codec.EncodedOrigin);
            int tw = options.Width ?? small.Width, th = options.Height ?? small.Height;
            return tw == small.Width && th == small.Height ? small : Resize(small, tw, th, options.Filter);
        }
        var rgba = new byte[decodeInfo.BytesSize64];
        var result = codec.GetPixels(decodeInfo, rgba);
        switch (result)
        {
            case SKCodecResult.Success: break;
            case SKCodecResult.IncompleteInput: throw new TruncatedImageException(sourceName, Name(format), bytes.Length);
            case SKCodecResult.ErrorInInput: throw new CorruptImageException(sourceName, Name(format), "pixel data is invalid");
            default: throw new CorruptImageException(sourceName, Name(format), $"decoder failed ({result})");
        }
        var image = ToTensor(rgba, size.Width, size.Height, options.Channels, codec.EncodedOrigin);
        int width = options.Width ?? image.Width, height = options.Height ?? image.Height;
        return width == image.Width && height == image.Height ? image : Resize(image, width, height, options.Filter);
    }

    /// <summary>
    /// Size to decode at. A JPEG headed for a much smaller output is decoded by libjpeg's DCT scaling
    /// (1/2 to 1/8) to about twice the output size, never below it: a 12-megapixel photo bound for 28x28
    /// then costs a fraction of the time and memory, and the final resize still has pixels to filter.
    /// </summary>
    private static SKSizeI DecodeSize(SKCodec codec, ImageFormat format, ImageDecodeOptions options)
    {
        var full = codec.Info.Size;
        if (format != ImageFormat.Jpeg || options.Filter == ResizeFilter.Nearest || (options.Width is null && options.Height is null))
            return full;
        var (w, h) = DisplaySize(full.Width, full.Height, codec.EncodedOrigin);
        float need = Math.Max((float)(options.Width ?? w) / w, (float)(options.Height ?? h) / h);
        if (need >= 0.5f) return full;
        var scaled = codec.GetScaledDimensions(2f * need);
        // Skia rounds to the nearest supported scale; never accept fewer pixels than the output has.
        float got = Math.Min((float)scaled.Width / full.Width, (float)scaled.Height / full.Height);
        return got >= need ? scaled : full;
    }

    /// <summary>Above this many decoded bytes, an image headed for a much smaller output is reduced before it becomes floats.</summary>
    public const long StreamingDecodeBytes = 16L << 20;

    /// <summary>
    /// k for a k×k box reduction after decoding: large images (over <see cref="StreamingDecodeBytes"/> as RGBA) headed for
    /// an output at least 4× smaller per side are averaged down to about twice the output size in bytes, so a compressed
    /// 6300×6300 PNG costs its 160 MB of RGBA (native, freed at once) and not also 480 MB of floats and resize copies.
    /// </summary>
    private static int ReductionFactor(SKSizeI size, SKEncodedOrigin origin, ImageDecodeOptions options)
    {
        if ((long)size.Width * size.Height * 4 <= StreamingDecodeBytes || options.Filter == ResizeFilter.Nearest || (options.Width is null && options.Height is null))
            return 1;
        var (w, h) = DisplaySize(size.Width, size.Height, origin);
        double kx = w / (2.0 * (options.Width ?? w)), ky = h / (2.0 * (options.Height ?? h));
        // Stored rows and columns swap under a 90° orientation; the factor is the same on both axes, so only its size matters.
        return Math.Max(1, (int)Math.Floor(Math.Min(kx, ky)));
    }

    /// <summary>
    /// Full decode into native memory (freed at once, so nothing stays resident after a large image), then k×k averaging
    /// in bytes (edge blocks average what they have) → RGBA of ⌈W/k⌉ × ⌈H/k⌉. The RGBA is reserved from the process-wide
    /// <see cref="DecodeBudget"/> first. SkiaSharp 3 decodes PNG only at full size, so the full RGBA is the floor.
    /// </summary>
    private static unsafe (byte[] Rgba, int Width, int Height) DecodeReduced(SKCodec codec, SKImageInfo info, int k, int encodedBytes, ImageFormat format, string sourceName, DecodeBudget budget)
    {
        int w = info.Width, h = info.Height, rw = (w + k - 1) / k, rh = (h + k - 1) / k;
        long bytes = info.BytesSize64;
        using var reservation = budget.Reserve(bytes, sourceName);
        byte* px = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)bytes);
        try
        {
            var result = codec.GetPixels(info, (IntPtr)px);
            switch (result)
            {
                case SKCodecResult.Success: break;
                case SKCodecResult.IncompleteInput: throw new TruncatedImageException(sourceName, Name(format), encodedBytes);
                case SKCodecResult.ErrorInInput: throw new CorruptImageException(sourceName, Name(format), "pixel data is invalid");
                default: throw new CorruptImageException(sourceName, Name(format), $"decoder failed ({result})");
            }
            var sums = new long[rw * 4];
            var reduced = new byte[rw * rh * 4];
            long rowBytes = info.RowBytes;
            for (int by = 0; by < rh; by++)
            {
                Array.Clear(sums);
                int rows = Math.Min(k, h - by * k);
                for (int r = 0; r < rows; r++)
                {
                    byte* row = px + (by * k + r) * rowBytes;
                    for (int x = 0; x < w; x++)
                    {
                        int s = 4 * x, d = 4 * (x / k);
                        sums[d] += row[s]; sums[d + 1] += row[s + 1]; sums[d + 2] += row[s + 2]; sums[d + 3] += row[s + 3];
                    }
                }
                for (int bx = 0; bx < rw; bx++)
                {
                    long n = (long)rows * Math.Min(k, w - bx * k);
                    for (int c = 0; c < 4; c++) reduced[4 * (by * rw + bx) + c] = (byte)((sums[4 * bx + c] + n / 2) / n);
                }
            }
            return (reduced, rw, rh);
        }
        finally { System.Runtime.InteropServices.NativeMemory.Free(px); }
    }

    /// <summary>Reads only the header: format and displayed size. Applies every limit Decode applies.</summary>
    public static ImageInfo Probe(Stream stream, ImageDecodeOptions options, string sourceName)
        => Probe(ReadBounded(stream, Checked(options), sourceName), options, sourceName);

    public static ImageInfo Probe(byte[] bytes, ImageDecodeOptions options, string sourceName)
    {
        using var codec = Open(bytes, Checked(options), sourceName, out var format);
        var (w, h) = DisplaySize(codec.Info.Width, codec.Info.Height, codec.EncodedOrigin);
        return new ImageInfo(format, w, h);
    }

    /// <summary>Writes an 8-bit PNG (grayscale for 1 channel, RGB for 3), quantised by <see cref="Quantize"/>.</summary>
    public static void EncodePng(ImageTensor image, Stream destination)
    {
        CheckTensor(image);
        ArgumentNullException.ThrowIfNull(destination);
        var planar = new byte[image.Length];
        Quantize(image, planar);
        bool gray = image.Channels == 1;
        var info = new SKImageInfo(image.Width, image.Height, gray ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Opaque);
        var px = gray ? planar : new byte[info.BytesSize64];
        if (!gray)
        {
            int plane = image.Width * image.Height;
            for (int i = 0; i < plane; i++)
            {
                px[4 * i] = planar[i];
                px[4 * i + 1] = planar[plane + i];
                px[4 * i + 2] = planar[2 * plane + i];
                px[4 * i + 3] = 255;
            }
        }
        using var bitmap = new SKBitmap(info);
        System.Runtime.InteropServices.Marshal.Copy(px, 0, bitmap.GetPixels(), px.Length);
        using var pixmap = bitmap.PeekPixels();
        using var png = pixmap.Encode(SKPngEncoderOptions.Default)
            ?? throw new InvalidOperationException($"Skia could not encode a {image.Width}x{image.Height} PNG");
        destination.Write(png.AsSpan());
    }

    public static byte[] EncodePng(ImageTensor image)
    {
        using var buffer = new MemoryStream();
        EncodePng(image, buffer);
        return buffer.ToArray();
    }

    /// <summary>8-bit values, channel-first like the tensor: round(clamp(v, 0, 1) · 255). NaN is an error.</summary>
    public static void Quantize(ImageTensor image, Span<byte> destination)
    {
        CheckTensor(image);
        if (destination.Length != image.Length)
            throw new ArgumentException($"destination holds {destination.Length} bytes; the image has {image.Length} values", nameof(destination));
        var d = image.Data;
        for (int i = 0; i < d.Length; i++)
        {
            if (float.IsNaN(d[i])) throw new ArgumentException("image holds NaN values; refusing to quantise them", nameof(image));
            destination[i] = (byte)MathF.Round(Math.Clamp(d[i], 0f, 1f) * 255f);
        }
    }

    private static ImageDecodeOptions Checked(ImageDecodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }

    /// <summary>Opens a codec on the header only, after the byte, format and pixel-count checks.</summary>
    private static SKCodec Open(byte[] bytes, ImageDecodeOptions options, string sourceName, out ImageFormat format)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(sourceName);
        if (bytes.Length == 0) throw new EmptyImageException(sourceName);
        if (bytes.Length > options.MaxBytes) throw new ImageTooLargeException(sourceName, options.MaxBytes, bytes.Length);

        var sniffed = ImageSniffer.Supported(bytes);
        // GIFs without a trailer are common enough to accept when the frame data is whole.
        if (sniffed is { } s && s != ImageFormat.Gif && ImageSniffer.EndsEarly(s, bytes))
            throw new TruncatedImageException(sourceName, Name(s), bytes.Length);
        // Each progressive scan re-walks the whole image: thousands of tiny scans make a small file that decodes
        // for minutes. Real progressive JPEGs have about 10; libjpeg-turbo's own optional limit is 500.
        if (sniffed == ImageFormat.Jpeg && ImageSniffer.JpegScanCount(bytes) is var scans and > MaxJpegScans)
            throw new CorruptImageException(sourceName, "JPEG", $"{scans} scans, above the limit of {MaxJpegScans} (a decode-time bomb)");
        SKCodec? codec;
        SKCodecResult result;
        using (var data = SKData.CreateCopy(bytes))
            codec = SKCodec.Create(new SKMemoryStream(data), out result); // the codec owns the stream
        if (codec is null)
        {
            if (sniffed is { } f)
                // Skia also says IncompleteInput for some corrupt headers: trust it only when the bytes end early.
                throw result == SKCodecResult.IncompleteInput && ImageSniffer.EndsEarly(f, bytes)
                    ? new TruncatedImageException(sourceName, Name(f), bytes.Length)
                    : new CorruptImageException(sourceName, Name(f), $"header rejected by the decoder ({result})");
            if (ImageSniffer.Unsupported(bytes) is { } other) throw new UnsupportedImageFormatException(sourceName, other);
            throw new NotAnImageException(sourceName);
        }
        try
        {
            format = ImageSniffer.FromSkia(codec.EncodedFormat)
                ?? throw new UnsupportedImageFormatException(sourceName, codec.EncodedFormat.ToString().ToUpperInvariant());
            var info = codec.Info;
            if (info.Width <= 0 || info.Height <= 0)
                throw new CorruptImageException(sourceName, Name(format), $"header gives size {info.Width}x{info.Height}");
            if ((long)info.Width * info.Height > options.MaxPixels)
                throw new ImageDimensionsTooLargeException(sourceName, info.Width, info.Height, options.MaxPixels);
            return codec;
        }
        catch
        {
            codec.Dispose();
            throw;
        }
    }

    /// <summary>The bytes of an image stream, never more than <paramref name="maxBytes"/>: /dev/zero or a huge file is an
    /// <see cref="ImageTooLargeException"/> naming <paramref name="sourceName"/>, not an out-of-memory crash.</summary>
    public static byte[] ReadAllBounded(Stream stream, long maxBytes, string sourceName) =>
        ReadBounded(stream, new ImageDecodeOptions { MaxBytes = maxBytes }, sourceName);

    /// <summary>Reads the whole stream but never more than the byte limit (plus one byte to detect "above").</summary>
    private static byte[] ReadBounded(Stream stream, ImageDecodeOptions options, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        long limit = options.MaxBytes;
        long initial = 64 * 1024;
        if (stream.CanSeek)
        {
            long remaining = Math.Max(0, stream.Length - stream.Position);
            if (remaining > limit) throw new ImageTooLargeException(sourceName, limit, remaining);
            initial = remaining + 1;
        }
        var buffer = new byte[Math.Min(initial, limit + 1)];
        int total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (total > limit) throw new ImageTooLargeException(sourceName, limit, null);
                Array.Resize(ref buffer, (int)Math.Min(limit + 1, Math.Max(2L * buffer.Length, 4096)));
            }
            int n = stream.Read(buffer, total, buffer.Length - total);
            if (n == 0) break;
            total += n;
        }
        if (total > limit) throw new ImageTooLargeException(sourceName, limit, null);
        Array.Resize(ref buffer, total);
        return buffer;
    }

    private static string Name(ImageFormat format) => format == ImageFormat.Webp ? "WebP" : format.ToString().ToUpperInvariant();

    private static bool SwapsAxes(SKEncodedOrigin origin) => origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop
        or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    private static (int Width, int Height) DisplaySize(int width, int height, SKEncodedOrigin origin)
        => SwapsAxes(origin) ? (height, width) : (width, height);

    /// <summary>Stored pixel shown at displayed (x, y), per the EXIF orientation; Skia's codec leaves it to us.</summary>
    private static (int X, int Y) StoredPixel(SKEncodedOrigin origin, int x, int y, int w, int h) => origin switch
    {
        SKEncodedOrigin.TopRight => (w - 1 - x, y),
        SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
        SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
        SKEncodedOrigin.LeftTop => (y, x),
        SKEncodedOrigin.RightTop => (y, h - 1 - x),
        SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
        SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
        _ => (x, y),
    };

    private static ImageTensor ToTensor(byte[] rgba, int w, int h, int channels, SKEncodedOrigin origin)
    {
        var (ow, oh) = DisplaySize(w, h, origin);
        int plane = ow * oh;
        var data = new float[channels * plane];
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
            {
                var (sx, sy) = StoredPixel(origin, x, y, w, h);
                int s = 4 * (sy * w + sx), i = y * ow + x;
                float r = ByteToUnit[rgba[s]], g = ByteToUnit[rgba[s + 1]], b = ByteToUnit[rgba[s + 2]];
                if (channels == 1) { data[i] = Luma(r, g, b); continue; }
                data[i] = r;
                data[plane + i] = g;
                data[2 * plane + i] = b;
            }
        return new ImageTensor(data, channels, oh, ow);
    }
}
