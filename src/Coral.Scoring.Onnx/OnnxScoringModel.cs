using System.Globalization;
using System.Text.Json;
using Coral.Imaging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Coral.Scoring.Onnx;

/// <summary>The exported model cannot be used: missing, not ONNX, or without the metadata the scorer needs.</summary>
public sealed class OnnxModelException(string path, string problem, Exception? inner = null)
    : Exception($"{path}: {problem}", inner), ICoralInputError;

/// <summary>One forward pass of the scoring graph for a batch: member 0's logits and every signal the graph has, per image.</summary>
public sealed record OnnxOutputs(int Count, int NumClasses, float[] Logits, IReadOnlyDictionary<string, float[]> Signals);

/// <summary>
/// The classifier bundle's scoring graph in ONNX Runtime, with the metadata written beside it by the exporter.
/// Thread-safe: an InferenceSession may run concurrently. Intra-op threads default to 1 (steady under load on a
/// shared machine; concurrency comes from batching and parallel requests).
/// </summary>
public sealed class OnnxScoringModel : IDisposable
{
    private readonly InferenceSession session;

    private OnnxScoringModel(string path, InferenceSession session, IReadOnlyDictionary<string, string> meta)
    {
        this.session = session;
        Path = path;
        try
        {
            ClassNames = JsonSerializer.Deserialize<string[]>(meta[OnnxNames.MetaClassNames])!;
            var shape = meta[OnnxNames.MetaInputShape].Split('x').Select(int.Parse).ToArray();
            (Channels, Height, Width) = (shape[0], shape[1], shape[2]);
            Thresholds = meta.TryGetValue(OnnxNames.MetaThresholds, out var t) ? JsonSerializer.Deserialize<Dictionary<string, double>>(t)! : [];
            FlagSignal = meta.GetValueOrDefault(OnnxNames.MetaFlagSignal);
            FlagRate = meta.TryGetValue(OnnxNames.MetaFlagRate, out var r) ? double.Parse(r, CultureInfo.InvariantCulture) : null;
            Version = meta.GetValueOrDefault(OnnxNames.MetaVersion) ?? "";
            OutOfDomainThreshold = meta.TryGetValue(OnnxNames.MetaOutOfDomainThreshold, out var e) ? double.Parse(e, CultureInfo.InvariantCulture) : null;
        }
        catch (Exception e) when (e is KeyNotFoundException or JsonException or FormatException or IndexOutOfRangeException)
        {
            throw new OnnxModelException(path, "lacks the CoralFunctions metadata (class names, input shape): export it with `coral export onnx`", e);
        }
        Signals = [.. OnnxNames.Signals.Where(s => session.OutputMetadata.ContainsKey(s))];
    }

    public string Path { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public IReadOnlyDictionary<string, double> Thresholds { get; }
    public string? FlagSignal { get; }
    public double? FlagRate { get; }
    /// <summary>Feature distance above which an input is out of domain (<see cref="OutOfDomainMark"/>); null when the bundle has none.</summary>
    public double? OutOfDomainThreshold { get; }
    public string Version { get; }
    /// <summary>Signal outputs present in this graph (MI needs ≥ 2 members, the head a trained head).</summary>
    public IReadOnlyList<string> Signals { get; }

    public static OnnxScoringModel Load(string path, int intraOpThreads = 1)
    {
        if (!File.Exists(path)) throw new OnnxModelException(path, "ONNX model not found");
        var options = new SessionOptions { IntraOpNumThreads = intraOpThreads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        InferenceSession s;
        try { s = new InferenceSession(path, options); }
        catch (OnnxRuntimeException e) { throw new OnnxModelException(path, "not a loadable ONNX model: " + e.Message, e); }
        return new OnnxScoringModel(path, s, s.ModelMetadata.CustomMetadataMap);
    }

    /// <summary>Runs <paramref name="images"/> (all of the model's input shape, values in [0, 1]) in one forward pass.</summary>
    public OnnxOutputs Run(IReadOnlyList<ImageTensor> images)
    {
        int per = Channels * Height * Width;
        var buffer = new float[images.Count * per];
        for (int i = 0; i < images.Count; i++)
        {
            var im = images[i];
            if (im.Channels != Channels || im.Height != Height || im.Width != Width)
                throw new ArgumentException($"image {i} is {im.Channels}x{im.Height}x{im.Width}, the model takes {Channels}x{Height}x{Width}");
            im.Data.AsSpan().CopyTo(buffer.AsSpan(i * per, per));
        }
        return Run(buffer, images.Count);
    }

    /// <summary>Runs a packed [N, C, H, W] float buffer.</summary>
    public OnnxOutputs Run(float[] packed, int count)
    {
        var input = new DenseTensor<float>(packed, [count, Channels, Height, Width]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxNames.Images, input)], [OnnxNames.Logits, .. Signals]);
        float[] Get(string name) => results.First(r => r.Name == name).AsEnumerable<float>().ToArray();
        return new OnnxOutputs(count, ClassNames.Count, Get(OnnxNames.Logits), Signals.ToDictionary(s => s, Get));
    }

    public void Dispose() => session.Dispose();
}
