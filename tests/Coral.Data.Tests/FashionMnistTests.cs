namespace Coral.Data.Tests;

public class FashionMnistTests
{
    [Fact]
    public void The_real_test_split_loads_with_1000_images_per_class()
    {
        var test = FashionMnist.Load(FashionMnist.Split.Test);
        test.Count.Should().Be(10_000);
        (test.Channels, test.Height, test.Width).Should().Be((1, 28, 28));
        test.CountsPerClass().Should().AllBeEquivalentTo(1000);
        test.ClassNames.Should().HaveCount(10).And.StartWith("T-shirt/top").And.EndWith("Ankle boot");
        test.Pixels.Should().Contain(b => b > 200, "real images have bright pixels");
        test.CountsReport().Should().Contain("Ankle boot").And.Contain("10000");
    }

    private static string WriteSplit(TempDir dir, int images, int labels, int size = 28, byte label = 3)
    {
        dir.Write("t10k-images-idx3-ubyte.gz", TempDir.Gzip(TempDir.Idx(0x08, [images, size, 28], new byte[images * size * 28])));
        dir.Write("t10k-labels-idx1-ubyte", TempDir.Idx(0x08, [labels], Enumerable.Repeat(label, labels).ToArray()));
        return dir.Path;
    }

    [Fact]
    public void Label_and_image_counts_must_match()
    {
        using var dir = new TempDir();
        var act = () => FashionMnist.Load(FashionMnist.Split.Test, WriteSplit(dir, images: 3, labels: 2));
        act.Should().ThrowExactly<DatasetFormatException>()
            .Which.Message.Should().Contain("t10k-labels-idx1-ubyte").And.Contain("2 labels for 3 images");
    }

    [Fact]
    public void Wrong_image_size_and_out_of_range_labels()
    {
        using (var dir = new TempDir())
        {
            var act = () => FashionMnist.Load(FashionMnist.Split.Test, WriteSplit(dir, 2, 2, size: 27));
            act.Should().ThrowExactly<DatasetFormatException>().WithMessage("*expected 28x28 images, got 27x28*");
        }
        using (var dir = new TempDir())
        {
            var act = () => FashionMnist.Load(FashionMnist.Split.Test, WriteSplit(dir, 2, 2, label: 10));
            act.Should().ThrowExactly<DatasetFormatException>().WithMessage("*label 10 at index 0*");
        }
        using (var dir = new TempDir())
            FashionMnist.Load(FashionMnist.Split.Test, WriteSplit(dir, 2, 2)).Labels.Should().Equal(3, 3);
    }

    [Fact]
    public void Missing_files_point_to_the_setup_script()
    {
        using var dir = new TempDir();
        var act = () => FashionMnist.Load(FashionMnist.Split.Train, dir.Path);
        act.Should().ThrowExactly<DatasetFormatException>().WithMessage("*train-images-idx3-ubyte.gz*setup*");
    }
}
