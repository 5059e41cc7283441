using System.Text.Json;
using System.Text.Json.Serialization;
using Coral.Diffusion.Networks;
using Coral.Diffusion.Schedule;
using Coral.Diffusion.Training;
using Coral.Ml;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion;

/// <summary>Model card written next to shipped weights: what the model is, how it was trained, what it is for.</summary>
public sealed record DiffusionModelCard
{
    public string Name { get; init; } = "";
    public string Kind { get; init; } = "class-conditional DDPM (ε-prediction U-Net)";
    public string WeightsFile { get; init; } = "weights.bin";
    public string WeightsPrecision { get; init; } = "float16";
    public string WeightsSha256 { get; init; } = "";
    public long Parameters { get; init; }
    public UNetConfig Network { get; init; } = new();
    public BetaSchedule Schedule { get; init; }
    public int Timesteps { get; init; } = 1000;
    public string[] ClassNames { get; init; } = [];
    /// <summary>Pixel range the network works in; convert at the seam (x01 = (x + 1)/2).</summary>
    public string ValueRange { get; init; } = "[-1, 1]";
    public TrainOptions? Training { get; init; }
    public int StepsTrained { get; init; }
    public Dictionary<string, object>? Data { get; init; }
    public Dictionary<string, double>? FinalLosses { get; init; }
    public double TrainSeconds { get; init; }
    public string CreatedUtc { get; init; } = "";
    public string IntendedUse { get; init; } = "";
    public string Limitations { get; init; } = "";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };
}

/// <summary>
/// A trained denoiser ready for sampling: the (EMA) U-Net, its schedule and its class names, in eval mode.
/// Load from a folder holding model-card.json + the weights it names.
/// </summary>
public sealed class DiffusionModel : IDisposable
{
    public const string CardFileName = "model-card.json";

    public DiffusionModel(UNet network, GaussianDiffusion diffusion, IReadOnlyList<string> classNames, DiffusionModelCard? card = null)
    {
        Network = network;
        Diffusion = diffusion;
        ClassNames = classNames;
        Card = card;
        Network.eval();
    }

    public UNet Network { get; }
    public GaussianDiffusion Diffusion { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public DiffusionModelCard? Card { get; }
    public int NumClasses => Network.Config.NumClasses;
    public int Resolution => Network.Config.Resolution;
    public int Channels => Network.Config.ImageChannels;

    /// <summary>Loads a model folder (or its model-card.json).</summary>
    public static DiffusionModel Load(string path)
    {
        TorchRuntime.EnsureLoaded();
        string cardPath = Directory.Exists(path) ? Path.Combine(path, CardFileName) : path;
        if (!File.Exists(cardPath)) throw new DiffusionInputException(path, $"no {CardFileName} found (expected a model folder)");
        DiffusionModelCard card;
        try { card = JsonSerializer.Deserialize<DiffusionModelCard>(File.ReadAllText(cardPath), DiffusionModelCard.Json)!; }
        catch (JsonException e) { throw new DiffusionInputException(cardPath, "model card is not valid JSON: " + e.Message); }
        var net = new UNet(card.Network);
        WeightsFile.Load(net, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(cardPath))!, card.WeightsFile));
        var names = card.ClassNames.Length == card.Network.NumClasses ? card.ClassNames
            : Enumerable.Range(0, card.Network.NumClasses).Select(i => $"class {i}").ToArray();
        return new DiffusionModel(net, new GaussianDiffusion(card.Schedule, card.Timesteps), names, card);
    }

    /// <summary>Writes weights (fp16 when <paramref name="half"/>) and the card into <paramref name="dir"/>.</summary>
    public static void Save(UNet network, DiffusionModelCard card, string dir, bool half = true)
    {
        Directory.CreateDirectory(dir);
        string weights = Path.Combine(dir, card.WeightsFile);
        WeightsFile.Save(network, weights, half);
        string hash = Coral.Ml.Common.FileHash.Sha256(weights);
        var final = card with { WeightsSha256 = hash, WeightsPrecision = half ? "float16" : "float32", Parameters = network.ParameterCount() };
        var tmp = Path.Combine(dir, CardFileName + ".tmp");
        File.WriteAllText(tmp, JsonSerializer.Serialize(final, DiffusionModelCard.Json));
        File.Move(tmp, Path.Combine(dir, CardFileName), overwrite: true);
    }

    /// <summary>Validates class indices; unknown classes are an input error naming the class.</summary>
    public void CheckLabels(IEnumerable<int> labels)
    {
        foreach (var y in labels)
            if (y < 0 || y >= NumClasses)
                throw new DiffusionInputException("class", $"{y} is not a class of this model (0..{NumClasses - 1})");
    }

    /// <summary>
    /// Classifier-free guided ε̂ = ε_u + (1+ω)(ε_c − ε_u) = (1+ω)ε_c − ω·ε_u. ω = 0 is the plain conditional model
    /// (one network pass); ω &gt; 0 runs the conditional and null-label branches in one doubled batch.
    /// </summary>
    public Tensor GuidedEpsilon(Tensor x, Tensor t, Tensor labels, double guidanceScale)
    {
        using var scope = NewDisposeScope();
        if (guidanceScale == 0) return Network.Epsilon(x, t, labels).MoveToOuterDisposeScope();
        long b = x.shape[0];
        var nulls = full_like(labels, Network.NullLabel);
        var eps = Network.Epsilon(cat([x, x], 0), cat([t, t], 0), cat([labels, nulls], 0));
        var cond = eps[..(int)b];
        var uncond = eps[(int)b..];
        return ((1 + guidanceScale) * cond - guidanceScale * uncond).MoveToOuterDisposeScope();
    }

    public void Dispose() => Network.Dispose();
}
