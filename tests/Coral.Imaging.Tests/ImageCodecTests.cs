using Coral.Imaging;

namespace Coral.Imaging.Tests;

public class ImageCodecTests
{
    private static readonly ImageDecodeOptions Rgb = new();
    private static readonly ImageDecodeOptions Gray = new() { Channels = 1 };

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Png_round_trip_is_bit_exact(int channels)
    {
        var x = TestImages.Random8Bit(channels, 13, 17, seed: channels);
        var y = ImageCodec.Decode(ImageCodec.EncodePng(x), channels == 1 ? Gray : Rgb, "roundtrip.png");
        y.Channels.Should().Be(channels);
        (y.Height, y.Width).Should().Be((13, 17));
        y.Data.Should().Equal(x.Data);
    }

    [Fact]
    public void Stream_overloads_round_trip_through_a_non_seekable_stream()
    {
        var x = TestImages.Random8Bit(3, 40, 30, seed: 7);
        using var buffer = new MemoryStream();
        ImageCodec.EncodePng(x, buffer);
        buffer.Position = 0;
        var y = ImageCodec.Decode(new TestImages.NonSeekable(buffer), Rgb, "upload");
        y.Data.Should().Equal(x.Data);
    }

    public static TheoryData<string> Formats => ["png", "jpeg", "bmp", "gif", "webp-lossless", "webp-lossy"];

    private static (byte[] Bytes, ImageTensor Source, float Tolerance, ImageFormat Format) Encoded(string format)
    {
        var rgb = TestImages.Gradient(24, 32);
        var gray = ImageCodec.ToGrayscale(TestImages.Random8Bit(1, 24, 32, seed: 3));
        return format switch
        {
            "png" => (TestImages.Png(rgb), rgb, 0f, ImageFormat.Png),
            "jpeg" => (TestImages.Jpeg(rgb), rgb, 0.06f, ImageFormat.Jpeg),
            "bmp" => (TestImages.Bmp(rgb), rgb, 0f, ImageFormat.Bmp),
            "gif" => (TestImages.Gif(gray), ImageCodec.ToRgb(gray), 0f, ImageFormat.Gif),
            "webp-lossless" => (TestImages.WebpLossless(rgb), rgb, 0f, ImageFormat.Webp),
            "webp-lossy" => (TestImages.WebpLossy(rgb), rgb, 0.08f, ImageFormat.Webp),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Each_supported_format_decodes_to_the_source_pixels(string format)
    {
        var (bytes, source, tolerance, expected) = Encoded(format);
        ImageCodec.Probe(bytes, Rgb, format).Should().Be(new ImageInfo(expected, 32, 24));
        var y = ImageCodec.Decode(bytes, Rgb, format);
        (y.Channels, y.Height, y.Width).Should().Be((3, 24, 32));
        var maxError = y.Data.Zip(source.Data, (a, b) => MathF.Abs(a - b)).Max();
        maxError.Should().BeLessThanOrEqualTo(tolerance, $"{format} decodes close to its source");
    }

    [Fact]
    public void Gif_decodes_the_first_frame()
    {
        var first = TestImages.Random8Bit(1, 10, 12, seed: 1);
        var second = TestImages.Random8Bit(1, 10, 12, seed: 2);
        var y = ImageCodec.Decode(TestImages.Gif(first, second), Gray, "anim.gif");
        y.Data.Should().Equal(first.Data);
    }

    [Fact]
    public void Decode_converts_channels_and_resizes_to_the_requested_shape()
    {
        var rgb = TestImages.Random8Bit(3, 20, 30, seed: 5);
        var png = ImageCodec.EncodePng(rgb);
        ImageCodec.Decode(png, Gray, "a.png").Data.Should().Equal(ImageCodec.ToGrayscale(rgb).Data);

        var gray = TestImages.Random8Bit(1, 20, 30, seed: 6);
        ImageCodec.Decode(ImageCodec.EncodePng(gray), Rgb, "g.png").Data.Should().Equal(ImageCodec.ToRgb(gray).Data);

        var small = ImageCodec.Decode(png, new ImageDecodeOptions { Width = 8, Height = 6, Channels = 1, Filter = ResizeFilter.Cubic }, "a.png");
        (small.Channels, small.Height, small.Width).Should().Be((1, 6, 8));
        small.Data.Should().OnlyContain(v => v >= 0f && v <= 1f);

        var wide = ImageCodec.Decode(png, new ImageDecodeOptions { Width = 50 }, "a.png");
        (wide.Height, wide.Width).Should().Be((20, 50), "a null height keeps the source height");
    }

    [Fact]
    public void Large_jpeg_bound_for_a_small_output_is_decoded_at_a_reduced_scale()
    {
        var jpeg = TestImages.Jpeg(TestImages.Gradient(768, 1024));
        var small = new ImageDecodeOptions { Width = 32, Height = 24 };
        ImageCodec.Decode(jpeg, small, "warmup.jpg");

        long before = GC.GetAllocatedBytesForCurrentThread();
        var y = ImageCodec.Decode(jpeg, small, "photo.jpg");
        long scaledBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        var full = ImageCodec.Decode(jpeg, Rgb, "photo.jpg");
        long fullBytes = GC.GetAllocatedBytesForCurrentThread() - before;

        scaledBytes.Should().BeLessThan(fullBytes / 10, "the 1024x768 pixels are never all decoded");
        var reference = ImageCodec.Resize(full, 32, 24, ResizeFilter.Bilinear);
        y.Data.Zip(reference.Data, (a, b) => MathF.Abs(a - b)).Max().Should().BeLessThan(0.03f);
    }

    [Fact]
    public void Exif_orientation_is_applied_to_jpeg()
    {
        // 16 wide x 32 tall: top half white, bottom half black. Orientation 6 = rotate 90° clockwise.
        var data = new float[3 * 32 * 16];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 16 * 16; i++) data[c * 512 + i] = 1f;
        var jpeg = TestImages.WithExifOrientation(TestImages.Jpeg(new ImageTensor(data, 3, 32, 16)), 6);

        ImageCodec.Probe(jpeg, Rgb, "rotated.jpg").Should().Be(new ImageInfo(ImageFormat.Jpeg, 32, 16));
        var y = ImageCodec.Decode(jpeg, Gray, "rotated.jpg");
        (y.Height, y.Width).Should().Be((16, 32));
        y.Data[8 * 32 + 4].Should().BeLessThan(0.1f, "the black bottom half is now on the left");
        y.Data[8 * 32 + 28].Should().BeGreaterThan(0.9f, "the white top half is now on the right");
    }

    [Fact]
    public void Nearest_upscale_replicates_pixels_exactly()
    {
        var x = TestImages.Random8Bit(3, 2, 3, seed: 9);
        var y = ImageCodec.Resize(x, 6, 4, ResizeFilter.Nearest);
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < 4; r++)
                for (int col = 0; col < 6; col++)
                    y.Data[(c * 4 + r) * 6 + col].Should().Be(x.Data[(c * 2 + r / 2) * 3 + col / 2]);
    }

    [Theory]
    [InlineData(ResizeFilter.Nearest)]
    [InlineData(ResizeFilter.Bilinear)]
    [InlineData(ResizeFilter.Cubic)]
    public void Every_filter_keeps_a_constant_image_constant(ResizeFilter filter)
    {
        foreach (var (w, h) in new[] { (7, 5), (100, 80) })
        {
            var y = ImageCodec.Resize(TestImages.Constant(1, 40, 50, 0.25f), w, h, filter);
            (y.Channels, y.Height, y.Width).Should().Be((1, h, w));
            y.Data.Should().OnlyContain(v => MathF.Abs(v - 0.25f) < 1e-5f);
        }
    }

    [Fact]
    public void Bilinear_shrink_averages_a_fine_checkerboard_instead_of_aliasing()
    {
        var data = new float[64 * 64];
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++) data[y * 64 + x] = (x + y) % 2;
        var small = ImageCodec.Resize(new ImageTensor(data, 1, 64, 64), 9, 9, ResizeFilter.Bilinear);
        small.Data.Should().OnlyContain(v => MathF.Abs(v - 0.5f) < 0.1f);
    }

    [Fact]
    public void Grayscale_uses_bt601_luma_and_rgb_replicates()
    {
        float[] rgb = [1f, 0f, 0f, 0.4f, /* G */ 0f, 1f, 0f, 0.4f, /* B */ 0f, 0f, 1f, 0.4f];
        var gray = ImageCodec.ToGrayscale(new ImageTensor(rgb, 3, 1, 4));
        gray.Data[0].Should().BeApproximately(0.299f, 1e-6f);
        gray.Data[1].Should().BeApproximately(0.587f, 1e-6f);
        gray.Data[2].Should().BeApproximately(0.114f, 1e-6f);
        gray.Data[3].Should().Be(0.4f, "gray pixels stay exactly the same");
        ImageCodec.ToRgb(gray).Data.Should().Equal([.. gray.Data, .. gray.Data, .. gray.Data]);
    }

    [Fact]
    public void Encode_rejects_malformed_tensors()
    {
        var act = () => ImageCodec.EncodePng(new ImageTensor(new float[5], 3, 2, 2));
        act.Should().Throw<ArgumentException>();
        var nan = () => ImageCodec.EncodePng(new ImageTensor([float.NaN], 1, 1, 1));
        nan.Should().Throw<ArgumentException>().WithMessage("*NaN*");
        var channels = () => ImageCodec.EncodePng(new ImageTensor(new float[8], 2, 2, 2));
        channels.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Invalid_options_are_argument_errors()
    {
        var png = ImageCodec.EncodePng(TestImages.Constant(1, 2, 2, 0f));
        foreach (var bad in new[]
                 {
                     new ImageDecodeOptions { Channels = 2 }, new ImageDecodeOptions { Width = 0 },
                     new ImageDecodeOptions { MaxBytes = 0 }, new ImageDecodeOptions { MaxPixels = -1 },
                 })
        {
            var act = () => ImageCodec.Decode(png, bad, "a.png");
            act.Should().Throw<ArgumentOutOfRangeException>();
        }
    }
}
