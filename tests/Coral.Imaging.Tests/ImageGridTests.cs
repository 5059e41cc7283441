using Coral.Imaging;

namespace Coral.Imaging.Tests;

public class ImageGridTests
{
    [Fact]
    public void Tiles_are_laid_out_row_by_row_with_padding()
    {
        var tiles = Enumerable.Range(0, 3).Select(i => TestImages.Constant(1, 2, 2, i / 10f)).ToList();
        var grid = ImageGrid.Compose(tiles, columns: 2, padding: 1, background: 1f);
        (grid.Channels, grid.Height, grid.Width).Should().Be((1, 7, 7));
        float At(int y, int x) => grid.Data[y * 7 + x];
        At(0, 0).Should().Be(1f);
        At(1, 1).Should().Be(0f);
        At(2, 2).Should().Be(0f);
        At(1, 4).Should().Be(0.1f);
        At(4, 1).Should().Be(0.2f);
        At(4, 4).Should().Be(1f, "the missing fourth tile leaves background");
        At(3, 3).Should().Be(1f);
    }

    [Fact]
    public void Rgb_tiles_keep_their_channels()
    {
        var tile = TestImages.Random8Bit(3, 3, 4, seed: 1);
        var grid = ImageGrid.Compose([tile], columns: 1, padding: 0);
        grid.Data.Should().Equal(tile.Data);
    }

    [Fact]
    public void Mismatched_or_missing_tiles_are_argument_errors()
    {
        var a = TestImages.Constant(1, 2, 2, 0f);
        var act = () => ImageGrid.Compose([a, TestImages.Constant(1, 3, 2, 0f)], 2);
        act.Should().Throw<ArgumentException>().WithMessage("*tile 1*");
        act = () => ImageGrid.Compose([a, TestImages.Constant(3, 2, 2, 0f)], 2);
        act.Should().Throw<ArgumentException>();
        act = () => ImageGrid.Compose([], 2);
        act.Should().Throw<ArgumentException>();
        act = () => ImageGrid.Compose([a], 0);
        act.Should().Throw<ArgumentException>();
    }
}
