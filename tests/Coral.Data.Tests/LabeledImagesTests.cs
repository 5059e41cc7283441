namespace Coral.Data.Tests;

public class LabeledImagesTests
{
    [Fact]
    public void Tensor_is_the_image_scaled_to_unit_range_with_its_shape()
    {
        var set = new LabeledImages([0, 51, 255, 7, /* image 1: */ 255, 0, 102, 204], [0, 1], channels: 1, height: 2, width: 2, ["a", "b"]);

        var t = set.Tensor(1);

        (t.Channels, t.Height, t.Width).Should().Be((1, 2, 2));
        t.Data.Should().Equal(1f, 0f, 0.4f, 0.8f);
    }
}
