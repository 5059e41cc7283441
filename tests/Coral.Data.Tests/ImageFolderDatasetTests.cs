using System.Runtime.InteropServices;
using Coral.Imaging;
using SkiaSharp;

namespace Coral.Data.Tests;

public class ImageFolderDatasetTests
{
    private static ImageTensor Solid(int channels, int height, int width, float value)
    {
        var data = new float[channels * height * width];
        for (int i = 0; i < data.Length; i++) data[i] = (value * 255 + i % 7) % 256 / 255f;
        return new ImageTensor(data, channels, height, width);
    }

    private static byte[] Jpeg(int height, int width)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bitmap.Erase(new SKColor(200, 100, 50));
        using var data = bitmap.PeekPixels().Encode(SKEncodedImageFormat.Jpeg, 90)!;
        return data.ToArray();
    }

    private static readonly ImageFolderOptions Rgb8 = new() { Width = 8, Height = 8, Channels = 3 };

    /// <summary>bird: 2 PNG; cat: 1 PNG + 1 JPG (upper-case extension); dog: 1 JPEG; plus files and folders to ignore.</summary>
    private static TempDir Tree()
    {
        var dir = new TempDir();
        dir.Write("cat/b.png", ImageCodec.EncodePng(Solid(3, 8, 8, 0.2f)));
        dir.Write("cat/a.JPG", Jpeg(16, 12));
        dir.Write("bird/1.png", ImageCodec.EncodePng(Solid(3, 8, 8, 0.5f)));
        dir.Write("bird/2.png", ImageCodec.EncodePng(Solid(1, 8, 8, 0.7f)));
        dir.Write("dog/x.jpeg", Jpeg(8, 8));
        dir.Write("dog/notes.txt", "not an image"u8.ToArray());
        dir.Write("dog/.hidden.png", "junk"u8.ToArray());
        dir.Write(".cache/c.png", ImageCodec.EncodePng(Solid(3, 8, 8, 0.1f)));
        dir.Write("readme.png", ImageCodec.EncodePng(Solid(3, 8, 8, 0.1f)));
        return dir;
    }

    [Fact]
    public void Reads_sorted_classes_and_files_into_bytes()
    {
        using var dir = Tree();
        var ds = ImageFolderDataset.Load(dir.Path, Rgb8);
        ds.ClassNames.Should().Equal("bird", "cat", "dog");
        ds.Files.Should().Equal(Path.Combine("bird", "1.png"), Path.Combine("bird", "2.png"),
            Path.Combine("cat", "a.JPG"), Path.Combine("cat", "b.png"), Path.Combine("dog", "x.jpeg"));
        ds.Images.Labels.Should().Equal(0, 0, 1, 1, 2);
        ds.Images.CountsPerClass().Should().Equal(2, 2, 1);
        (ds.Images.Channels, ds.Images.Height, ds.Images.Width).Should().Be((3, 8, 8));
        ds.Skipped.Should().BeEmpty();

        var expected = new byte[3 * 64];
        ImageCodec.Quantize(Solid(3, 8, 8, 0.5f), expected);
        ds.Images.Image(0).ToArray().Should().Equal(expected, "an 8x8 PNG loads at 8x8 without change");
        var gray = new byte[64];
        ImageCodec.Quantize(Solid(1, 8, 8, 0.7f), gray);
        ds.Images.Image(1).ToArray().Should().Equal([.. gray, .. gray, .. gray], "gray files are replicated to RGB");
        ds.Images.Image(4)[0].Should().BeCloseTo(200, 6, "JPEG red channel");
        ds.Report().Should().Contain("bird").And.Contain("dog").And.NotContain("skipped");
    }

    [Fact]
    public void Resizes_and_converts_to_the_requested_shape()
    {
        using var dir = Tree();
        var ds = ImageFolderDataset.Load(dir.Path, new ImageFolderOptions { Width = 4, Height = 5, Channels = 1, Filter = ResizeFilter.Cubic });
        (ds.Images.Channels, ds.Images.Height, ds.Images.Width, ds.Images.Count).Should().Be((1, 5, 4, 5));
        ds.Images.Pixels.Length.Should().Be(5 * 20);
    }

    [Fact]
    public void A_bad_file_stops_the_load_with_an_error_naming_it()
    {
        using var dir = Tree();
        var bad = dir.Write("cat/c.png", "this is text"u8.ToArray());
        var act = () => ImageFolderDataset.Load(dir.Path, Rgb8);
        var e = act.Should().ThrowExactly<DatasetFormatException>().Which;
        e.SourceName.Should().Be(bad);
        e.Message.Should().StartWith(bad + ": not an image");
        e.InnerException.Should().BeOfType<NotAnImageException>();
    }

    [Fact]
    public void Bad_files_can_be_skipped_and_reported()
    {
        using var dir = Tree();
        var text = dir.Write("cat/c.png", "this is text"u8.ToArray());
        var jpeg = Jpeg(8, 8);
        var cut = dir.Write("dog/y.jpg", jpeg[..(jpeg.Length / 2)]);
        var ds = ImageFolderDataset.Load(dir.Path, Rgb8 with { SkipBadFiles = true });
        ds.Images.Count.Should().Be(5);
        ds.Skipped.Select(s => s.Path).Should().Equal(text, cut);
        ds.Skipped[1].Reason.Should().Contain("truncated");
        ds.Report().Should().Contain("skipped 2 bad file(s)").And.Contain(cut);
    }

    [Fact]
    public void Structural_problems_are_dataset_errors()
    {
        using var dir = new TempDir();
        var missing = () => ImageFolderDataset.Load(dir.File("absent"), Rgb8);
        missing.Should().ThrowExactly<DatasetFormatException>().WithMessage("*image folder not found");
        var noClasses = () => ImageFolderDataset.Load(dir.Path, Rgb8);
        noClasses.Should().ThrowExactly<DatasetFormatException>().WithMessage("*no class folders*");
        dir.Write("a/readme.txt", [1]);
        var noImages = () => ImageFolderDataset.Load(dir.Path, Rgb8);
        noImages.Should().ThrowExactly<DatasetFormatException>().WithMessage("*no .png/.jpg/.jpeg files*");
        dir.Write("a/bad.png", [1, 2, 3]);
        var allBad = () => ImageFolderDataset.Load(dir.Path, Rgb8 with { SkipBadFiles = true });
        allBad.Should().ThrowExactly<DatasetFormatException>().WithMessage("*none of the 1 image files could be read*bad.png*");
    }

    [Fact]
    public void Without_a_size_the_images_own_size_is_kept_and_gray_folders_load_as_one_channel()
    {
        using var dir = new TempDir();
        dir.Write("b/1.png", ImageCodec.EncodePng(Solid(1, 12, 10, 0.3f)));
        dir.Write("a/2.png", ImageCodec.EncodePng(Solid(1, 12, 10, 0.6f)));
        var ds = ImageFolderDataset.Load(dir.Path, new ImageFolderOptions());
        (ds.Images.Channels, ds.Images.Height, ds.Images.Width).Should().Be((1, 12, 10));
        var expected = new byte[120];
        ImageCodec.Quantize(Solid(1, 12, 10, 0.6f), expected);
        ds.Images.Image(0).ToArray().Should().Equal(expected, "class a (ordinal first) holds 2.png, unchanged at its own size");

        dir.Write("b/3.jpeg", Jpeg(12, 10));   // colour: the whole folder becomes RGB
        var rgb = ImageFolderDataset.Load(dir.Path, new ImageFolderOptions());
        (rgb.Images.Channels, rgb.Images.Height, rgb.Images.Width).Should().Be((3, 12, 10));
    }

    [Fact]
    public void Mixed_sizes_without_a_size_are_one_error_naming_two_files()
    {
        using var dir = new TempDir();
        dir.Write("a/small.png", ImageCodec.EncodePng(Solid(3, 8, 8, 0.3f)));
        dir.Write("a/wide.png", ImageCodec.EncodePng(Solid(3, 8, 16, 0.3f)));
        var act = () => ImageFolderDataset.Load(dir.Path, new ImageFolderOptions());
        act.Should().ThrowExactly<DatasetFormatException>()
            .WithMessage("*images differ in size*small.png is 8x8*wide.png is 16x8*give a size*");
        ImageFolderDataset.Load(dir.Path, new ImageFolderOptions { Width = 8, Height = 8 }).Images.Count.Should().Be(2);
    }
}
