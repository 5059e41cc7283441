using Coral.Imaging;

namespace Coral.Data;

/// <summary>How <see cref="ImageFolderDataset.Load"/> decodes.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>Resize every image to Width × Height; null (both) = the images' own size, which must then be the same for all.</summary>
    public int? Width { get; init; }
    public int? Height { get; init; }

    /// <summary>1 (grayscale, BT.601 luma) or 3 (RGB); null = 1 when every image is gray (R = G = B), else 3.</summary>
    public int? Channels { get; init; }

    public ResizeFilter Filter { get; init; } = ResizeFilter.Bilinear;

    /// <summary>False: the first bad file stops the load with a <see cref="DatasetFormatException"/>.
    /// True: bad files are left out and listed in <see cref="ImageFolderDataset.Skipped"/>.</summary>
    public bool SkipBadFiles { get; init; }

    public long MaxBytes { get; init; } = ImageDecodeOptions.DefaultMaxBytes;
    public long MaxPixels { get; init; } = ImageDecodeOptions.DefaultMaxPixels;
}

/// <summary>A file left out of an image-folder dataset, and why.</summary>
public sealed record SkippedImage(string Path, string Reason);

/// <summary>
/// A labelled set read from <c>root/&lt;class&gt;/*.png|jpg|jpeg</c>. Class names are the folder names in
/// ordinal order (class 0 first); files are read in ordinal name order, so loads are reproducible.
/// Hidden folders and files (leading '.') and other extensions are ignored.
/// </summary>
public sealed class ImageFolderDataset
{
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg"];

    private ImageFolderDataset(string root, LabeledImages images, IReadOnlyList<string> files, IReadOnlyList<SkippedImage> skipped)
    {
        Root = root; Images = images; Files = files; Skipped = skipped;
    }

    public string Root { get; }

    /// <summary>The decoded images as 8-bit channel-first pixels.</summary>
    public LabeledImages Images { get; }

    /// <summary>Path of each image relative to <see cref="Root"/>, in the order of <see cref="Images"/>.</summary>
    public IReadOnlyList<string> Files { get; }

    public IReadOnlyList<SkippedImage> Skipped { get; }

    public IReadOnlyList<string> ClassNames => Images.ClassNames;

    public static ImageFolderDataset Load(string root, ImageFolderOptions options)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(options);
        if ((options.Width is null) != (options.Height is null))
            throw new ArgumentException("give both Width and Height, or neither (the images' own size)");
        if (!Directory.Exists(root)) throw new DatasetFormatException(root, "image folder not found");
        var (classNames, work) = List(root);
        var skipped = new List<SkippedImage>();
        var probe = new ImageDecodeOptions { MaxBytes = options.MaxBytes, MaxPixels = options.MaxPixels };

        bool Bad(string path, Exception e)
        {
            string problem = e is ImageDecodeException d ? d.Problem : $"cannot read the file ({e.Message})";
            if (!options.SkipBadFiles) throw new DatasetFormatException(path, problem, e);
            skipped.Add(new SkippedImage(path, problem));
            return true;
        }

        int width, height;
        if (options.Width is { } w && options.Height is { } h) (width, height) = (w, h);
        else
        {
            // Native size: read the headers first, so a mixed-size folder fails before anything is decoded.
            (string Path, ImageInfo Info)? first = null;
            var readable = new List<(string, int)>();
            foreach (var (path, label) in work)
            {
                ImageInfo info;
                try { using var stream = File.OpenRead(path); info = ImageCodec.Probe(stream, probe, path); }
                catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException) { Bad(path, e); continue; }
                first ??= (path, info);
                if (info.Width != first.Value.Info.Width || info.Height != first.Value.Info.Height)
                    throw new DatasetFormatException(root, $"images differ in size ({Path.GetRelativePath(root, first.Value.Path)} is " +
                        $"{first.Value.Info.Width}x{first.Value.Info.Height}, {Path.GetRelativePath(root, path)} is {info.Width}x{info.Height}); give a size to resize them all");
                readable.Add((path, label));
            }
            if (first is null) throw NoneReadable(root, work.Count, skipped);
            (width, height) = (first.Value.Info.Width, first.Value.Info.Height);
            work = readable;
        }

        int decodeChannels = options.Channels ?? 3;
        var decode = new ImageDecodeOptions
        {
            Width = width, Height = height, Channels = decodeChannels, Filter = options.Filter,
            MaxBytes = options.MaxBytes, MaxPixels = options.MaxPixels,
        };
        long per64 = (long)decodeChannels * width * height;
        if (per64 * work.Count > Array.MaxLength)
            throw new DatasetFormatException(root, $"{work.Count} images of {decodeChannels}x{height}x{width} do not fit in one 2 GB pixel buffer; use a smaller size");
        int per = (int)per64;
        var pixels = new byte[(long)work.Count * per];
        var labels = new List<int>(work.Count);
        var files = new List<string>(work.Count);
        foreach (var (path, label) in work)
        {
            ImageTensor image;
            try
            {
                using var stream = File.OpenRead(path);
                image = ImageCodec.Decode(stream, decode, path);
            }
            catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException) { Bad(path, e); continue; }
            ImageCodec.Quantize(image, pixels.AsSpan(labels.Count * per, per));
            labels.Add(label);
            files.Add(Path.GetRelativePath(root, path));
        }
        if (labels.Count == 0) throw NoneReadable(root, work.Count, skipped);

        Array.Resize(ref pixels, labels.Count * per);
        int channels = decodeChannels;
        if (options.Channels is null && AllGray(pixels, width * height))
        {
            pixels = KeepFirstChannel(pixels, width * height);
            channels = 1;
        }
        var images = new LabeledImages(pixels, [.. labels], channels, height, width, classNames);
        return new ImageFolderDataset(root, images, files, skipped);
    }

    /// <summary>Class names (sub-folders, ordinal order) and the image files with their labels.</summary>
    private static (string[] ClassNames, List<(string Path, int Label)> Files) List(string root)
    {
        var classDirs = Directory.GetDirectories(root).Where(d => !Path.GetFileName(d).StartsWith('.'))
            .Order(StringComparer.Ordinal).ToArray();
        if (classDirs.Length == 0)
            throw new DatasetFormatException(root, "no class folders: expected root/<class>/*.png|jpg|jpeg");
        var classNames = classDirs.Select(Path.GetFileName).Select(n => n!).ToArray();
        var work = new List<(string Path, int Label)>();
        for (int k = 0; k < classDirs.Length; k++)
            foreach (var file in Directory.GetFiles(classDirs[k]).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(file);
                if (!name.StartsWith('.') && Extensions.Contains(Path.GetExtension(name).ToLowerInvariant()))
                    work.Add((file, k));
            }
        if (work.Count == 0)
            throw new DatasetFormatException(root, $"no .png/.jpg/.jpeg files in the {classDirs.Length} class folders");
        return (classNames, work);
    }

    private static DatasetFormatException NoneReadable(string root, int files, List<SkippedImage> skipped) =>
        new(root, $"none of the {files} image files could be read; first: {skipped[0].Path}: {skipped[0].Reason}");

    /// <summary>True when every pixel of every channel-first RGB image has R = G = B.</summary>
    private static bool AllGray(byte[] rgb, int plane)
    {
        for (int start = 0; start < rgb.Length; start += 3 * plane)
        {
            var r = rgb.AsSpan(start, plane);
            if (!r.SequenceEqual(rgb.AsSpan(start + plane, plane)) || !r.SequenceEqual(rgb.AsSpan(start + 2 * plane, plane))) return false;
        }
        return true;
    }

    private static byte[] KeepFirstChannel(byte[] rgb, int plane)
    {
        int n = rgb.Length / (3 * plane);
        var gray = new byte[n * plane];
        for (int i = 0; i < n; i++) rgb.AsSpan(i * 3 * plane, plane).CopyTo(gray.AsSpan(i * plane, plane));
        return gray;
    }

    /// <summary>Counts per class, then any skipped files with their reasons.</summary>
    public string Report()
    {
        var sb = new System.Text.StringBuilder(Images.CountsReport());
        if (Skipped.Count > 0)
        {
            sb.AppendLine().Append($"skipped {Skipped.Count} bad file(s):");
            foreach (var s in Skipped) sb.AppendLine().Append($"  {s.Path}: {s.Reason}");
        }
        return sb.ToString();
    }
}
