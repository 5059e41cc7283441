using Coral.Imaging;

namespace Coral.Imaging.Tests;

/// <summary>Every bad-input case ends in its own exception type, and the message names the source.</summary>
public class BadInputTests
{
    private static readonly ImageDecodeOptions Options = new();

    private static T Refused<T>(byte[] bytes, string name, ImageDecodeOptions? options = null) where T : ImageDecodeException
    {
        var o = options ?? Options;
        var probe = () => ImageCodec.Probe(bytes, o, name);
        probe.Should().ThrowExactly<T>();
        var decode = () => ImageCodec.Decode(bytes, o, name);
        var e = decode.Should().ThrowExactly<T>().Which;
        e.SourceName.Should().Be(name);
        e.Message.Should().StartWith(name + ": ");
        return e;
    }

    private static byte[] Sample(string format)
    {
        var x = TestImages.Gradient(16, 16);
        return format switch
        {
            "png" => TestImages.Png(x),
            "jpeg" => TestImages.Jpeg(x),
            "bmp" => TestImages.Bmp(x),
            "gif" => TestImages.Gif(ImageCodec.ToGrayscale(x)),
            "webp" => TestImages.WebpLossless(x),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }

    [Fact]
    public void Empty_input()
    {
        Refused<EmptyImageException>([], "empty.png");
        var fromStream = () => ImageCodec.Decode(new MemoryStream(), Options, "empty-stream");
        fromStream.Should().ThrowExactly<EmptyImageException>();
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpeg")]
    [InlineData("bmp")]
    [InlineData("gif")]
    [InlineData("webp")]
    public void Truncated_input(string format)
    {
        var bytes = Sample(format);
        Refused<TruncatedImageException>(bytes[..(bytes.Length / 2)], $"half.{format}")
            .Message.Should().Contain("truncated");
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpeg")]
    [InlineData("gif")]
    public void Header_only_input_is_truncated(string format)
    {
        // Just the signature: a recognised format with nothing after it.
        var bytes = Sample(format);
        int keep = format == "png" ? 8 : format == "jpeg" ? 3 : 6;
        var probe = () => ImageCodec.Probe(bytes[..keep], Options, "sig");
        probe.Should().ThrowExactly<TruncatedImageException>();
    }

    [Fact]
    public void Non_image_bytes()
    {
        Refused<NotAnImageException>("{\"not\": \"an image\", \"but\": \"some JSON text\"}"u8.ToArray(), "data.json");
        Refused<NotAnImageException>("x"u8.ToArray(), "one-byte");
        Refused<NotAnImageException>("BMW is a car brand; this text only starts like a bitmap."u8.ToArray(), "notes.txt");
    }

    [Fact]
    public void Corrupt_header_of_a_known_format()
    {
        var png = Sample("png");
        png[16] ^= 0xFF; // inside IHDR: the CRC no longer matches
        Refused<CorruptImageException>(png, "crc.png");
    }

    [Fact]
    public void Formats_skia_reads_but_we_do_not_accept_are_unsupported()
    {
        Refused<UnsupportedImageFormatException>(TestImages.Ico(TestImages.Gradient(16, 16)), "favicon.ico").Format.Should().Be("ICO");
        Refused<UnsupportedImageFormatException>(TestImages.Wbmp(), "x.wbmp").Format.Should().Be("WBMP");
        Refused<UnsupportedImageFormatException>(TestImages.TiffHeader(), "scan.tiff").Format.Should().Be("TIFF");
        Refused<UnsupportedImageFormatException>(TestImages.HeifHeader(), "photo.heic").Format.Should().Be("HEIF");
    }

    [Fact]
    public void Bytes_above_the_limit()
    {
        var png = Sample("png");
        var tight = new ImageDecodeOptions { MaxBytes = png.Length - 1 };
        Refused<ImageTooLargeException>(png, "big.png", tight).MaxBytes.Should().Be(png.Length - 1);
        ImageCodec.Decode(png, new ImageDecodeOptions { MaxBytes = png.Length }, "exact.png").Width.Should().Be(16);

        var seekable = () => ImageCodec.Decode(new MemoryStream(png), tight, "big-seekable");
        seekable.Should().ThrowExactly<ImageTooLargeException>();
        var counted = () => ImageCodec.Decode(new TestImages.NonSeekable(new MemoryStream(png)), tight, "big-stream");
        counted.Should().ThrowExactly<ImageTooLargeException>();
    }

    [Fact]
    public void An_endless_stream_is_cut_off_at_the_limit()
    {
        var endless = new TestImages.EndlessStream();
        var act = () => ImageCodec.Decode(endless, new ImageDecodeOptions { MaxBytes = 1_000_000 }, "endless");
        act.Should().ThrowExactly<ImageTooLargeException>();
        endless.BytesRead.Should().BeLessThanOrEqualTo(1_000_001);
    }

    [Fact]
    public void Png_bomb_header_is_refused_before_allocating()
    {
        var bomb = HostileImages.PngClaiming(100_000, 100_000);
        ImageCodec.Decode(Sample("png"), Options, "warmup").Width.Should().Be(16); // JIT outside the measurement

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Refused<ImageDimensionsTooLargeException>(bomb, "bomb.png");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        (e.Width, e.Height, e.MaxPixels).Should().Be((100_000, 100_000, ImageDecodeOptions.DefaultMaxPixels));
        e.Message.Should().Contain("100000x100000");
        allocated.Should().BeLessThan(1 << 20, "a 10^10-pixel buffer must never be allocated");
    }

    [Fact]
    public void Pixel_limit_is_configurable_and_applies_to_every_format()
    {
        var small = new ImageDecodeOptions { MaxPixels = 255 };
        foreach (var format in new[] { "png", "jpeg", "bmp", "gif", "webp" })
            Refused<ImageDimensionsTooLargeException>(Sample(format), $"16x16.{format}", small);
        ImageCodec.Decode(Sample("png"), new ImageDecodeOptions { MaxPixels = 256 }, "ok.png").Width.Should().Be(16);
    }

    [Fact]
    public void Jpeg_with_thousands_of_scans_is_refused_before_decoding()
    {
        var jpeg = Sample("jpeg");
        var scans = Enumerable.Repeat<byte[]>([0xFF, 0xDA, 0x00, 0x02], 600).SelectMany(b => b);
        byte[] bomb = [.. jpeg.AsSpan(0, jpeg.Length - 2), .. scans, 0xFF, 0xD9];
        Refused<CorruptImageException>(bomb, "scans.jpg").Message.Should().Contain("scans, above the limit of 500");
    }

    [Fact]
    public void Jpeg_bomb_header_is_refused()
    {
        var bomb = HostileImages.JpegClaiming(Sample("jpeg"), 60_000, 60_000);
        Refused<ImageDimensionsTooLargeException>(bomb, "bomb.jpg");
    }
}
