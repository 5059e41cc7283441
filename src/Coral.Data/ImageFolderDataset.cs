using Coral.Imaging;

namespace Coral.Data;

/// <summary>How <see cref="ImageFolderDataset.Load"/> decodes: every image is resized to Width × Height.</summary>
public sealed record ImageFolderOptions
{
    public required int Width { get; init; }
    public required int Height { get; init; }

    /// <summary>1 (grayscale, BT.601 luma) or 3 (RGB).</summary>
    public int Channels { get; init; } = 3;

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
        var decode = new ImageDecodeOptions
        {
            Width = options.Width, Height = options.Height, Channels = options.Channels, Filter = options.Filter,
            MaxBytes = options.MaxBytes, MaxPixels = options.MaxPixels,
        };
        if (!Directory.Exists(root)) throw new DatasetFormatException(root, "image folder not found");

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

        long per64 = (long)options.Channels * options.Width * options.Height;
        if (per64 * work.Count > Array.MaxLength)
            throw new DatasetFormatException(root, $"{work.Count} images of {options.Channels}x{options.Height}x{options.Width} do not fit in one 2 GB pixel buffer; use a smaller size");
        int per = (int)per64;
        var pixels = new byte[(long)work.Count * per];
        var labels = new List<int>(work.Count);
        var files = new List<string>(work.Count);
        var skipped = new List<SkippedImage>();
        foreach (var (path, label) in work)
        {
            ImageTensor image;
            try
            {
                using var stream = File.OpenRead(path);
                image = ImageCodec.Decode(stream, decode, path);
            }
            catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException)
            {
                string problem = e is ImageDecodeException d ? d.Problem : $"cannot read the file ({e.Message})";
                if (!options.SkipBadFiles) throw new DatasetFormatException(path, problem, e);
                skipped.Add(new SkippedImage(path, problem));
                continue;
            }
            ImageCodec.Quantize(image, pixels.AsSpan(labels.Count * per, per));
            labels.Add(label);
            files.Add(Path.GetRelativePath(root, path));
        }
        if (labels.Count == 0)
            throw new DatasetFormatException(root, $"none of the {work.Count} image files could be read; first: {skipped[0].Path}: {skipped[0].Reason}");

        Array.Resize(ref pixels, labels.Count * per);
        var images = new LabeledImages(pixels, [.. labels], options.Channels, options.Height, options.Width, classNames);
        return new ImageFolderDataset(root, images, files, skipped);
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
