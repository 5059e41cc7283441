using Coral.Imaging;

namespace Coral.Pipeline.Models.Tests;

public class InputDomainTests
{
    private static ImageTensor Rgb(int size, bool gray)
    {
        var d = new float[3 * size * size];
        var rng = new Random(1);
        for (int i = 0; i < size * size; i++)
        {
            float v = (float)rng.NextDouble();
            d[i] = v; d[size * size + i] = gray ? v : v * 0.5f; d[2 * size * size + i] = gray ? v : 1 - v;
        }
        return new ImageTensor(d, 3, size, size);
    }

    [Fact]
    public void A_colour_photo_of_another_size_is_named_converted_and_out_of_domain_for_a_gray_model()
    {
        var (image, conversion, ood) = InputDomain.Fit(new ImageInfo(ImageFormat.Jpeg, 640, 480), Rgb(28, gray: false), channels: 1);
        (image.Channels, image.Height, image.Width).Should().Be((1, 28, 28));
        conversion.Should().Be("RGB → gray (BT.601 luma); 640x480 → 28x28 (bilinear)");
        ood.Should().HaveCount(2).And.Contain(s => s.Contains("colour image")).And.Contain(s => s.Contains("640x480 is far from"));
    }

    [Fact]
    public void An_image_that_already_fits_needs_no_conversion_and_a_near_size_is_not_out_of_domain()
    {
        var fits = InputDomain.Fit(new ImageInfo(ImageFormat.Png, 28, 28), Rgb(28, gray: true), channels: 1);
        fits.Conversion.Should().BeNull();
        fits.OutOfDomain.Should().BeEmpty();
        var near = InputDomain.Fit(new ImageInfo(ImageFormat.Png, 32, 32), Rgb(28, gray: true), channels: 1);
        near.Conversion.Should().Be("32x32 → 28x28 (bilinear)");
        near.OutOfDomain.Should().BeEmpty("32 px is close to 28 px");
        var grayForColour = InputDomain.Fit(new ImageInfo(ImageFormat.Png, 28, 28), Rgb(28, gray: true), channels: 3);
        grayForColour.OutOfDomain.Should().ContainSingle().Which.Should().Contain("gray image");
    }
}
