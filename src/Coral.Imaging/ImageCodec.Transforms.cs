using System.Runtime.InteropServices;
using SkiaSharp;

namespace Coral.Imaging;

public static partial class ImageCodec
{
    /// <summary>Resamples to width × height with the stated Skia sampling (see <see cref="ResizeFilter"/>);
    /// results are clamped to [0, 1]. Same size returns a copy.</summary>
    public static ImageTensor Resize(ImageTensor image, int width, int height, ResizeFilter filter)
    {
        CheckTensor(image);
        if (width <= 0 || height <= 0 || (long)width * height > Array.MaxLength / 4)
            throw new ArgumentOutOfRangeException(nameof(width), $"resize target {width}x{height} is not a valid size");
        if (width == image.Width && height == image.Height) return image with { Data = (float[])image.Data.Clone() };
        if (filter != ResizeFilter.Nearest)
        {
            // Skia samples without mipmaps here, so a large reduction would alias: average whole blocks first.
            int kx = Math.Max(1, image.Width / (2 * width)), ky = Math.Max(1, image.Height / (2 * height));
            if (kx > 1 || ky > 1) image = BoxReduce(image, kx, ky);
            if (width == image.Width && height == image.Height) return image;
        }

        int c = image.Channels, srcPlane = image.Width * image.Height, dstPlane = width * height;
        // Float pixels through Skia keep full precision; gray is replicated into R, G and B.
        var src = new float[4 * srcPlane];
        for (int i = 0; i < srcPlane; i++)
        {
            src[4 * i] = image.Data[i];
            src[4 * i + 1] = image.Data[(c == 3 ? 1 : 0) * srcPlane + i];
            src[4 * i + 2] = image.Data[(c == 3 ? 2 : 0) * srcPlane + i];
            src[4 * i + 3] = 1f;
        }
        using var srcBitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.RgbaF32, SKAlphaType.Opaque));
        using var dstBitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.RgbaF32, SKAlphaType.Opaque));
        Marshal.Copy(src, 0, srcBitmap.GetPixels(), src.Length);
        using (var srcPixmap = srcBitmap.PeekPixels())
        using (var dstPixmap = dstBitmap.PeekPixels())
            if (!srcPixmap.ScalePixels(dstPixmap, Sampling(filter)))
                throw new InvalidOperationException($"Skia could not resize {image.Width}x{image.Height} to {width}x{height}");
        var dst = new float[4 * dstPlane];
        Marshal.Copy(dstBitmap.GetPixels(), dst, 0, dst.Length);

        var data = new float[c * dstPlane];
        for (int i = 0; i < dstPlane; i++)
            for (int ch = 0; ch < c; ch++)
                data[ch * dstPlane + i] = Math.Clamp(dst[4 * i + ch], 0f, 1f);
        return new ImageTensor(data, c, height, width);
    }

    /// <summary>Mean of each kx × ky block (edge blocks average the pixels they have).</summary>
    private static ImageTensor BoxReduce(ImageTensor image, int kx, int ky)
    {
        int w = (image.Width + kx - 1) / kx, h = (image.Height + ky - 1) / ky, c = image.Channels;
        var data = new float[c * w * h];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int y1 = Math.Min(image.Height, (y + 1) * ky), x1 = Math.Min(image.Width, (x + 1) * kx);
                    double sum = 0;
                    for (int sy = y * ky; sy < y1; sy++)
                        for (int sx = x * kx; sx < x1; sx++)
                            sum += image.Data[(ch * image.Height + sy) * image.Width + sx];
                    data[(ch * h + y) * w + x] = (float)(sum / ((y1 - y * ky) * (x1 - x * kx)));
                }
        return new ImageTensor(data, c, h, w);
    }

    /// <summary>ITU-R BT.601 luma: Y = 0.299 R + 0.587 G + 0.114 B. A 1-channel input is copied.</summary>
    public static ImageTensor ToGrayscale(ImageTensor image)
    {
        CheckTensor(image);
        if (image.Channels == 1) return image with { Data = (float[])image.Data.Clone() };
        int plane = image.Width * image.Height;
        var d = image.Data;
        var gray = new float[plane];
        for (int i = 0; i < plane; i++) gray[i] = Luma(d[i], d[plane + i], d[2 * plane + i]);
        return new ImageTensor(gray, 1, image.Height, image.Width);
    }

    /// <summary>Replicates a gray channel into R, G and B. A 3-channel input is copied.</summary>
    public static ImageTensor ToRgb(ImageTensor image)
    {
        CheckTensor(image);
        if (image.Channels == 3) return image with { Data = (float[])image.Data.Clone() };
        int plane = image.Width * image.Height;
        var rgb = new float[3 * plane];
        for (int ch = 0; ch < 3; ch++) Array.Copy(image.Data, 0, rgb, ch * plane, plane);
        return new ImageTensor(rgb, 3, image.Height, image.Width);
    }

    internal static SKSamplingOptions Sampling(ResizeFilter filter) => filter switch
    {
        ResizeFilter.Nearest => new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None),
        ResizeFilter.Bilinear => new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None),
        ResizeFilter.Cubic => new SKSamplingOptions(SKCubicResampler.Mitchell),
        _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "unknown resize filter"),
    };

    // Summed in double so a gray pixel (R = G = B) maps back to exactly the same float.
    private static float Luma(float r, float g, float b) => (float)(0.299 * r + 0.587 * g + 0.114 * b);

    internal static void CheckTensor(ImageTensor image, string paramName = "image")
    {
        ArgumentNullException.ThrowIfNull(image, paramName);
        if (image.Data is null) throw new ArgumentException("image data is null", paramName);
        if (image.Channels is not (1 or 3)) throw new ArgumentException($"image has {image.Channels} channels; expected 1 or 3", paramName);
        if (image.Width <= 0 || image.Height <= 0) throw new ArgumentException($"image size {image.Width}x{image.Height} is not positive", paramName);
        if (image.Data.Length != (long)image.Channels * image.Height * image.Width)
            throw new ArgumentException($"image data holds {image.Data.Length} values; [{image.Channels},{image.Height},{image.Width}] needs {(long)image.Channels * image.Height * image.Width}", paramName);
    }
}
