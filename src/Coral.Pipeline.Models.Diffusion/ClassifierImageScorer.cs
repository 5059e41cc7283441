using System.Security.Cryptography;
using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Scoring;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Models;
using Coral.Pipeline.Scoring;

namespace Coral.Pipeline.Models.Diffusion;

/// <summary>
/// The TorchSharp <see cref="IImageScorer"/>: Coral.Imaging decodes (with its size/pixel limits), the classifier
/// bundle scores in TorchSharp. The pipeline scores with <see cref="OnnxImageScorer"/>; this one is the reference the
/// ONNX graph is checked against, and lives with the other torch adapter so the scorer app carries no libtorch. Decode and shape errors become <see cref="ImageRejectedException"/> (permanent).
/// </summary>
public sealed class ClassifierImageScorer : IImageScorer, IDisposable
{
    private readonly ClassifierBundle _bundle;
    private readonly ImageScorer _scorer;
    private readonly ImageDecodeOptions _decode;
    private readonly Lock _gate = new(); // one forward pass at a time: torch modules are not shared across threads here

    public ClassifierImageScorer(ClassifierBundle bundle, string modelVersion, long maxInputBytes)
    {
        _bundle = bundle;
        _scorer = new ImageScorer(bundle, new ScorerOptions { BatchSize = 1, WrongSize = WrongSizePolicy.Resize });
        var (c, h, w) = bundle.InputShape;
        // Decode straight to the classifier's input size; the pixel limit rejects bomb headers before allocation.
        _decode = new ImageDecodeOptions { Channels = c == 1 ? 1 : 3, Width = w, Height = h, MaxBytes = maxInputBytes };
        ModelVersion = modelVersion;
        RecommendedThreshold = bundle.Calibration is { } cal ? cal.Threshold(cal.FlagSignal) : null;
    }

    /// <summary>Loads models/classifier (folder or .ckpt); the version is the checkpoint's sha256 prefix.</summary>
    public static ClassifierImageScorer Load(string path, long maxInputBytes)
    {
        string file = ClassifierBundle.ResolveFile(path);
        if (!File.Exists(file))
            throw new ModelUnavailableException($"classifier checkpoint {file} not found (train one with `coral train classifier`, or set {Names.Settings.ClassifierPath})");
        var bundle = ClassifierBundle.Load(file);
        return new ClassifierImageScorer(bundle, ClassifierBundle.VersionOf(file), maxInputBytes);
    }

    public string ModelVersion { get; }
    public double? RecommendedThreshold { get; }

    public ImageScore Score(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct)
    {
        ImageTensor tensor;
        try { tensor = ImageCodec.Decode(image.ToArray(), _decode, sourceName); }
        catch (ImageDecodeException e) { throw new ImageRejectedException(sourceName, StripSource(e.Message, sourceName), e); }
        ct.ThrowIfCancellationRequested();
        Coral.Ml.Scoring.ScoreResult r;
        try
        {
            lock (_gate) r = _scorer.Score([tensor], [sourceName])[0];
        }
        catch (ImageShapeMismatchException e) { throw new ImageRejectedException(sourceName, StripSource(e.Message, sourceName), e); }
        string signalName = r.FlagSignal ?? r.Signals.Keys.First();
        return new ImageScore(r.PredictedClass, r.PredictedName, r.Probabilities.ToArray(), _bundle.ClassNames, signalName, r.Signals[signalName])
        {
            OutOfDomain = r.OutOfDomain is { } reason ? [reason] : [],
        };
    }

    private static string StripSource(string message, string source) =>
        message.StartsWith(source + ": ", StringComparison.Ordinal) ? message[(source.Length + 2)..] : message;

    public void Dispose() => _bundle.Dispose();
}

