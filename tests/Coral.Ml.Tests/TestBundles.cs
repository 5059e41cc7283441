using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Signals;

namespace Coral.Ml.Tests;

/// <summary>Small real data and tiny untrained bundles, so tests run in seconds.</summary>
internal static class TestBundles
{
    public static readonly CnnConfig Tiny = new(1, 28, 28, 10, Conv1: 4, Conv2: 8, FeatureDim: 16);

    private static readonly Lazy<LabeledImages> Train = new(() => FashionMnist.Load(FashionMnist.Split.Train));

    public static LabeledImages FullTrain => Train.Value;

    /// <summary>The first <paramref name="n"/> Fashion-MNIST training images.</summary>
    public static LabeledImages Images(int n, int offset = 0) => Train.Value.Subset(Enumerable.Range(offset, n).ToArray());

    /// <summary>A randomly initialised K-member bundle with a head and calibration (values only need to be finite).</summary>
    public static ClassifierBundle Random(int members = 3, int seed = 1, bool head = true, CnnConfig? config = null)
    {
        TorchRuntime.EnsureLoaded();
        config ??= Tiny;
        var ms = new List<SmallCnn>();
        for (int k = 0; k < members; k++)
        {
            Common.Seeding.Set(seed * 100 + k);
            ms.Add(new SmallCnn(config));
        }
        EpistemicHead? h = head ? new EpistemicHead(config.FeatureDim, config.NumClasses, 8) : null;
        var names = Enumerable.Range(0, config.NumClasses).Select(i => $"class{i}").ToArray();
        var calibration = new Calibration(0.05, head ? SignalKind.EpistemicHead : SignalKind.Entropy,
            new Dictionary<SignalKind, double> { [SignalKind.EpistemicHead] = 0.5, [SignalKind.Entropy] = 2.0, [SignalKind.Energy] = -1, [SignalKind.MutualInformation] = 0.01 },
            100, "test");
        return new ClassifierBundle(config, names, ms, h, calibration, new ModelCard { Kind = "test", Seed = seed, Members = members });
    }

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "coral-ml-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
