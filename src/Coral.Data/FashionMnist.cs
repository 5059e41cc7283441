namespace Coral.Data;

/// <summary>Fashion-MNIST (Zalando, MIT): 28x28 grayscale, 10 classes. Debian package dataset-fashion-mnist.</summary>
public static class FashionMnist
{
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";
    public const int ImageSize = 28;

    public static readonly IReadOnlyList<string> ClassNames =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    public enum Split { Train, Test }

    /// <summary>Loads one split from <paramref name="directory"/> (.gz or uncompressed files).</summary>
    public static LabeledImages Load(Split split, string? directory = null)
    {
        directory ??= DefaultDirectory;
        string prefix = split == Split.Train ? "train" : "t10k";
        string images = Locate(directory, $"{prefix}-images-idx3-ubyte");
        string labels = Locate(directory, $"{prefix}-labels-idx1-ubyte");
        var (imgShape, px) = IdxReader.ReadBytes(images);
        var (lblShape, ys) = IdxReader.ReadBytes(labels);
        if (imgShape.Length != 3)
            throw new DatasetFormatException(images, $"expected a rank-3 image tensor [N,28,28], got rank {imgShape.Length}");
        if (imgShape[1] != ImageSize || imgShape[2] != ImageSize)
            throw new DatasetFormatException(images, $"expected 28x28 images, got {imgShape[1]}x{imgShape[2]}");
        if (lblShape.Length != 1)
            throw new DatasetFormatException(labels, $"expected a rank-1 label vector, got rank {lblShape.Length}");
        if (lblShape[0] != imgShape[0])
            throw new DatasetFormatException(labels, $"{lblShape[0]} labels for {imgShape[0]} images in {images}");
        var labelInts = new int[ys.Length];
        for (int i = 0; i < ys.Length; i++)
        {
            if (ys[i] >= ClassNames.Count) throw new DatasetFormatException(labels, $"label {ys[i]} at index {i} is not a Fashion-MNIST class (0-9)");
            labelInts[i] = ys[i];
        }
        return new LabeledImages(px, labelInts, 1, ImageSize, ImageSize, ClassNames);
    }

    private static string Locate(string directory, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            var p = Path.Combine(directory, candidate);
            if (File.Exists(p)) return p;
        }
        throw new DatasetFormatException(Path.Combine(directory, stem + ".gz"),
            "Fashion-MNIST file not found (run scripts/setup.sh, which installs the Debian package dataset-fashion-mnist)");
    }
}
