using Coral.Imaging;

namespace Coral.Testing;

/// <summary>
/// A small image folder that is not Fashion-MNIST: RGB, its own size and class names, already long-tailed.
/// Each class is a coloured blob with its own hue and place, jittered in position, size and brightness and overlaid
/// with noise, so a small CNN learns it in seconds but not trivially. Written as PNGs in root/&lt;class&gt;/.
/// </summary>
public static class LongTailedImageFolder
{
    public static readonly string[] ClassNames = ["ember", "moss", "tide", "dusk"];
    public static readonly int[] Counts = [400, 160, 60, 24];

    // Per class: RGB colour and blob centre (as a share of the size).
    private static readonly (float R, float G, float B, float X, float Y)[] Looks =
    [
        (0.9f, 0.35f, 0.1f, 0.3f, 0.3f), (0.25f, 0.7f, 0.2f, 0.7f, 0.3f),
        (0.15f, 0.45f, 0.85f, 0.3f, 0.7f), (0.55f, 0.25f, 0.6f, 0.7f, 0.7f),
    ];

    /// <summary>Writes the folder; <paramref name="scale"/> multiplies the counts (at least one image per class).</summary>
    public static string Write(string root, int size = 20, int seed = 0, double scale = 1.0)
    {
        var rng = new Random(seed);
        for (int k = 0; k < ClassNames.Length; k++)
        {
            string dir = Path.Combine(root, ClassNames[k]);
            Directory.CreateDirectory(dir);
            int n = Math.Max(1, (int)Math.Round(Counts[k] * scale));
            for (int i = 0; i < n; i++) File.WriteAllBytes(Path.Combine(dir, $"{ClassNames[k]}-{i:D4}.png"), ImageCodec.EncodePng(Image(k, size, rng)));
        }
        return root;
    }

    /// <summary>One image of class <paramref name="k"/> in [0, 1], 3 × size × size.</summary>
    public static ImageTensor Image(int k, int size, Random rng)
    {
        var look = Looks[k];
        float cx = (look.X + (float)(rng.NextDouble() - 0.5) * 0.2f) * size, cy = (look.Y + (float)(rng.NextDouble() - 0.5) * 0.2f) * size;
        float radius = size * (0.18f + 0.08f * (float)rng.NextDouble()), gain = 0.75f + 0.25f * (float)rng.NextDouble();
        float[] colour = [look.R * gain, look.G * gain, look.B * gain];
        var data = new float[3 * size * size];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                float d = MathF.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                float inside = Math.Clamp(radius + 0.5f - d, 0, 1);
                for (int c = 0; c < 3; c++)
                    data[(c * size + y) * size + x] = Math.Clamp(0.1f + inside * colour[c] + (float)(rng.NextDouble() - 0.5) * 0.12f, 0, 1);
            }
        return new ImageTensor(data, 3, size, size);
    }
}
