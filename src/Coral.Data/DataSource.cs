using Coral.Imaging;

namespace Coral.Data;

/// <summary>Where a command's labelled images come from, and how to shape them.</summary>
public sealed record DataOptions
{
    /// <summary>A Fashion-MNIST IDX folder, or an image folder (one sub-folder per class).</summary>
    public string Path { get; init; } = FashionMnist.DefaultDirectory;
    /// <summary>A second image folder with the same classes, used as the test set; null = the tool splits one off.</summary>
    public string? TestPath { get; init; }
    /// <summary>Resize every image to Size × Size; null = the data's own size.</summary>
    public int? Size { get; init; }
    /// <summary>Share of each class held out as the test set when no <see cref="TestPath"/> is given.</summary>
    public double TestFraction { get; init; } = 0.2;
    public int SplitSeed { get; init; }
}

public enum DataKind { FashionMnist, ImageFolder }

/// <summary>A labelled dataset ready for training and testing, with what it is and how it was read.</summary>
public sealed record Dataset(string Name, DataKind Kind, string Description, LabeledImages Train, LabeledImages Test,
    IReadOnlyList<SkippedImage> Skipped)
{
    public string Shape => $"{Train.Channels}x{Train.Height}x{Train.Width}";
    public IReadOnlyList<string> ClassNames => Train.ClassNames;

    /// <summary>ρ to apply when the user gives none: the built-in Fashion-MNIST is balanced and gets the CIFAR-LT split;
    /// a user's folder is taken as it is (already long-tailed is the normal case).</summary>
    public double DefaultImbalance => Kind == DataKind.FashionMnist ? 0.01 : 1.0;
}

/// <summary>
/// The one loader behind every command's --data: Fashion-MNIST IDX (the zero-setup default) or an image folder
/// (class names from the sub-folders, size and channels from the images unless a size is given), with a test
/// set from a second folder or a stratified split made here.
/// </summary>
public static class DataSource
{
    public static bool IsFashionMnist(string dir) =>
        File.Exists(System.IO.Path.Combine(dir, "train-images-idx3-ubyte.gz")) || File.Exists(System.IO.Path.Combine(dir, "train-images-idx3-ubyte"));

    public static Dataset Load(DataOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.Size is < 4 or > 1024) throw new DatasetFormatException("--size", $"must be in 4..1024, got {o.Size}");
        if (o.TestFraction is <= 0 or >= 1) throw new DatasetFormatException("--test-fraction", $"must be in (0, 1), got {o.TestFraction}");
        if (!Directory.Exists(o.Path)) throw new DatasetFormatException(o.Path, "data folder not found (give a Fashion-MNIST IDX folder or an image folder with one sub-folder per class)");
        if (IsFashionMnist(o.Path))
        {
            var train = FashionMnist.Load(FashionMnist.Split.Train, o.Path);
            var test = o.TestPath is null ? FashionMnist.Load(FashionMnist.Split.Test, o.Path) : LoadFolder(o.TestPath, o.Size ?? FashionMnist.ImageSize, 1).Images;
            if (o.Size is int s && s != FashionMnist.ImageSize) { train = Resize(train, s); test = test.Height == s ? test : Resize(test, s); }
            CheckSameClasses(train, test, o.TestPath ?? o.Path);
            return new Dataset("fashion-mnist", DataKind.FashionMnist, $"Fashion-MNIST (Zalando, MIT) from {o.Path}", train, test, []);
        }

        var folder = LoadFolder(o.Path, o.Size, null);
        var all = folder.Images;
        var skipped = folder.Skipped.ToList();
        LabeledImages trainSet, testSet;
        string testText;
        if (o.TestPath is { } tp)
        {
            var t = LoadFolder(tp, all.Height, all.Channels, all.Width);
            skipped.AddRange(t.Skipped);
            (trainSet, testSet, testText) = (all, t.Images, $"test images from {tp}");
            CheckSameClasses(trainSet, testSet, tp);
        }
        else
        {
            var (trainIdx, testIdx) = StratifiedSplit(all.Labels, all.NumClasses, o.TestFraction, o.SplitSeed);
            (trainSet, testSet, testText) = (all.Subset(trainIdx), all.Subset(testIdx), $"{o.TestFraction:P0} of each class held out as the test set (seed {o.SplitSeed})");
        }
        string name = System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(o.Path)));
        return new Dataset(name, DataKind.ImageFolder, $"image folder {o.Path} ({all.Channels}x{all.Height}x{all.Width}{(o.Size is null ? ", own size" : $", resized to {o.Size}")}); {testText}",
            trainSet, testSet, skipped);
    }

    /// <summary>
    /// Per class, a seeded shuffle puts ⌈fraction·n⌉ images in the held-out part (none for a class with one image, so
    /// every class stays trainable); order within each part is the source order.
    /// </summary>
    public static (int[] Keep, int[] HeldOut) StratifiedSplit(IReadOnlyList<int> labels, int numClasses, double fraction, int seed)
    {
        var keep = new List<int>();
        var held = new List<int>();
        for (int k = 0; k < numClasses; k++)
        {
            var members = Enumerable.Range(0, labels.Count).Where(i => labels[i] == k).ToArray();
            var rng = new SplitMix64(((ulong)(uint)seed << 20) ^ (ulong)k);
            for (int i = members.Length - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (members[i], members[j]) = (members[j], members[i]); }
            int h = members.Length < 2 ? 0 : Math.Clamp((int)Math.Ceiling(fraction * members.Length), 1, members.Length - 1);
            held.AddRange(members[..h]);
            keep.AddRange(members[h..]);
        }
        keep.Sort();
        held.Sort();
        return ([.. keep], [.. held]);
    }

    /// <summary>
    /// Extra labelled images for training (reviewer-approved images pulled from curated/, say): one sub-folder per class,
    /// each folder named as one of <paramref name="like"/>'s classes, either exactly (any case) or as
    /// <paramref name="folderName"/> writes it ("t-shirt-top" for "T-shirt/top"). Decoded at the data's size and channels.
    /// An empty folder gives no images; a folder that names no class is an error naming it.
    /// </summary>
    public static LabeledImages LoadExtra(string path, LabeledImages like, Func<string, string>? folderName = null)
    {
        if (!Directory.Exists(path)) throw new DatasetFormatException(path, "folder of extra training images not found");
        if (!Directory.EnumerateDirectories(path).Any(d => !System.IO.Path.GetFileName(d).StartsWith('.'))) return like.Subset([]);
        var folder = LoadFolder(path, like.Height, like.Channels, like.Width).Images;
        var map = new int[folder.NumClasses];
        for (int f = 0; f < folder.NumClasses; f++)
        {
            string name = folder.ClassNames[f];
            int k = Enumerable.Range(0, like.NumClasses).FirstOrDefault(c => string.Equals(like.ClassNames[c], name, StringComparison.OrdinalIgnoreCase)
                || (folderName is not null && folderName(like.ClassNames[c]) == name), -1);
            map[f] = k >= 0 ? k : throw new DatasetFormatException(System.IO.Path.Combine(path, name), $"names no class of the data (classes: {string.Join(", ", like.ClassNames)})");
        }
        return new LabeledImages(folder.Pixels, [.. folder.Labels.Select(l => map[l])], like.Channels, like.Height, like.Width, like.ClassNames);
    }

    private static ImageFolderDataset LoadFolder(string path, int? size, int? channels, int? width = null) =>
        ImageFolderDataset.Load(path, new ImageFolderOptions { Width = width ?? size, Height = size, Channels = channels, SkipBadFiles = true });

    private static void CheckSameClasses(LabeledImages train, LabeledImages test, string testSource)
    {
        if (!train.ClassNames.SequenceEqual(test.ClassNames))
            throw new DatasetFormatException(testSource, $"has classes [{string.Join(", ", test.ClassNames)}], the training data [{string.Join(", ", train.ClassNames)}]");
    }

    /// <summary>Every image resized to size × size (bilinear; area-like for shrinking is left to the codec's filter).</summary>
    public static LabeledImages Resize(LabeledImages set, int size)
    {
        int per = set.Channels * size * size;
        var px = new byte[(long)set.Count * per];
        for (int i = 0; i < set.Count; i++)
        {
            var image = ImageCodec.Resize(set.Tensor(i), size, size, ResizeFilter.Bilinear);
            ImageCodec.Quantize(image, px.AsSpan(i * per, per));
        }
        return new LabeledImages(px, [.. set.Labels], set.Channels, size, size, set.ClassNames);
    }
}
