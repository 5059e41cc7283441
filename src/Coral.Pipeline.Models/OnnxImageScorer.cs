using Coral.Imaging;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Scoring;
using Coral.Scoring.Onnx;

namespace Coral.Pipeline.Models;

/// <summary>
/// <see cref="IImageScorer"/> over the exported scoring graph (scorer.onnx beside the checkpoint) in ONNX Runtime:
/// the same prediction and signals as <see cref="ClassifierImageScorer"/> (tested within 1e-4), without libtorch and
/// safe for concurrent calls; <see cref="ScoreBatch"/> scores many images in one forward pass. Decode errors become <see cref="ImageRejectedException"/> (permanent).
/// </summary>
public sealed class OnnxImageScorer : IImageScorer, IDisposable
{
    private readonly OnnxScoringModel _model;
    private readonly ImageDecodeOptions _decode;
    private readonly string _signal;

    public OnnxImageScorer(OnnxScoringModel model, long maxInputBytes)
    {
        _model = model;
        // Decoded straight to the input size (the codec's limits reject bombs before allocation), in colour so the record
        // can say whether a gray conversion happened; the header gives the original size.
        _decode = new ImageDecodeOptions { Channels = 3, Width = model.Width, Height = model.Height, MaxBytes = maxInputBytes };
        _signal = model.FlagSignal is { } s && model.Signals.Contains(s) ? s : model.Signals[0];
        ModelVersion = model.Version;
        RecommendedThreshold = model.Thresholds.TryGetValue(_signal, out var t) ? t : null;
    }

    /// <summary>Loads scorer.onnx from a classifier bundle folder (or the file itself).</summary>
    public static OnnxImageScorer Load(string bundlePath, long maxInputBytes)
    {
        string file = File.Exists(bundlePath) && bundlePath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? bundlePath
            : Path.Combine(Directory.Exists(bundlePath) ? bundlePath : Path.GetDirectoryName(Path.GetFullPath(bundlePath))!, OnnxNames.FileName);
        if (!File.Exists(file))
            throw new ModelUnavailableException($"scoring graph {file} not found (write it with `coral export onnx --model {bundlePath}`, or set {Names.Settings.ScoringRuntime}=torchsharp)");
        return new OnnxImageScorer(OnnxScoringModel.Load(file), maxInputBytes);
    }

    public string ModelVersion { get; }
    public double? RecommendedThreshold { get; }

    public ImageScore Score(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct) =>
        ScoreBatch([Prepare(image, sourceName, ct)], ct)[0];

    /// <summary>What <see cref="Prepare"/> hands to <see cref="ScoreBatch"/>: the fitted input and what fitting it found.</summary>
    private sealed record Fitted(ImageTensor Tensor, string? Conversion, IReadOnlyList<string> OutOfDomain);

    public PreparedImage Prepare(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct)
    {
        ImageTensor decoded;
        ImageInfo original;
        var bytes = image.ToArray();
        try
        {
            original = ImageCodec.Probe(bytes, _decode, sourceName);
            decoded = ImageCodec.Decode(bytes, _decode, sourceName);
        }
        catch (ImageDecodeException e) { throw new ImageRejectedException(sourceName, e.Problem, e); }
        ct.ThrowIfCancellationRequested();
        var (tensor, conversion, outOfDomain) = InputDomain.Fit(original, decoded, _model.Channels);
        return new PreparedImage(sourceName, new Fitted(tensor, conversion, outOfDomain));
    }

    public IReadOnlyList<ImageScore> ScoreBatch(IReadOnlyList<PreparedImage> images, CancellationToken ct)
    {
        var fitted = images.Select(p => p.Input as Fitted
            ?? throw new ArgumentException($"{p.SourceName} was prepared by another scorer", nameof(images))).ToList();
        var o = _model.Run([.. fitted.Select(f => f.Tensor)]);
        o.Signals.TryGetValue(OutOfDomainMark.Signal, out var distances);
        var scores = new ImageScore[fitted.Count];
        for (int i = 0; i < fitted.Count; i++)
        {
            var outOfDomain = fitted[i].OutOfDomain;
            if (distances is not null && OutOfDomainMark.Reason(distances[i], _model.OutOfDomainThreshold) is { } unfamiliar)
                outOfDomain = [.. outOfDomain, unfamiliar];
            var probabilities = Softmax(o.Logits.AsSpan(i * o.NumClasses, o.NumClasses));
            int predicted = Array.IndexOf(probabilities, probabilities.Max());
            scores[i] = new ImageScore(predicted, _model.ClassNames[predicted], probabilities, _model.ClassNames, _signal, o.Signals[_signal][i])
            {
                Conversion = fitted[i].Conversion, OutOfDomain = outOfDomain,
            };
        }
        return scores;
    }

    private static float[] Softmax(ReadOnlySpan<float> logits)
    {
        var e = new float[logits.Length];
        float max = float.NegativeInfinity;
        foreach (var v in logits) max = MathF.Max(max, v);
        float sum = 0;
        for (int k = 0; k < e.Length; k++) sum += e[k] = MathF.Exp(logits[k] - max);
        for (int k = 0; k < e.Length; k++) e[k] /= sum;
        return e;
    }

    public void Dispose() => _model.Dispose();
}
