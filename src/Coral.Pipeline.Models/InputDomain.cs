using Coral.Imaging;

namespace Coral.Pipeline.Models;

/// <summary>
/// Fits a decoded field image to the classifier's input and says what that took: the conversion, named exactly, and
/// whether the image looks unlike the training data (colour where the model saw gray, or a size far from its own).
/// </summary>
public static class InputDomain
{
    /// <summary>Side-length ratio beyond which an image counts as far from the training size (either way).</summary>
    public const double FarSizeRatio = 2.0;

    /// <param name="original">The input's own format and size (its header).</param>
    /// <param name="rgb">The input decoded in colour at the classifier's size.</param>
    public static (ImageTensor Image, string? Conversion, IReadOnlyList<string> OutOfDomain) Fit(ImageInfo original, ImageTensor rgb, int channels)
    {
        int height = rgb.Height, width = rgb.Width;
        bool gray = IsGray(rgb);
        var notes = new List<string>();
        var outOfDomain = new List<string>();
        var image = rgb;
        if (channels == 1)
        {
            image = ImageCodec.ToGrayscale(rgb);
            if (!gray)
            {
                notes.Add("RGB → gray (BT.601 luma)");
                outOfDomain.Add("colour image; the classifier was trained on gray images");
            }
        }
        else if (gray) outOfDomain.Add("gray image; the classifier was trained on colour images");
        if (original.Height != height || original.Width != width)
        {
            notes.Add($"{original.Width}x{original.Height} → {width}x{height} (bilinear)");
            double ratio = Math.Max((double)original.Width / width, (double)original.Height / height);
            double inverse = Math.Max((double)width / original.Width, (double)height / original.Height);
            if (ratio >= FarSizeRatio || inverse >= FarSizeRatio)
                outOfDomain.Add($"size {original.Width}x{original.Height} is far from the training size {width}x{height}");
        }
        return (image, notes.Count == 0 ? null : string.Join("; ", notes), outOfDomain);
    }

    private static bool IsGray(ImageTensor rgb)
    {
        if (rgb.Channels != 3) return true;
        int plane = rgb.Height * rgb.Width;
        var d = rgb.Data.AsSpan();
        return d[..plane].SequenceEqual(d.Slice(plane, plane)) && d[..plane].SequenceEqual(d.Slice(2 * plane, plane));
    }
}
