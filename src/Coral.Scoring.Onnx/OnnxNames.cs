namespace Coral.Scoring.Onnx;

/// <summary>The exported scoring graph's tensor names and metadata keys: one place for the writer and the reader.</summary>
public static class OnnxNames
{
    public const string FileName = "scorer.onnx";

    public const string Images = "images";
    public const string Logits = "logits";
    public const string Entropy = "entropy";
    public const string Energy = "energy";
    public const string MutualInformation = "mutual-information";
    public const string EpistemicHead = "epistemic-head";
    public const string FeatureDistance = "feature-distance";

    /// <summary>Signal outputs, named as the signals are everywhere else (score records, calibration).</summary>
    public static readonly IReadOnlyList<string> Signals = [Entropy, Energy, MutualInformation, EpistemicHead, FeatureDistance];

    public const string MetaClassNames = "coral.classNames";          // JSON array
    public const string MetaInputShape = "coral.inputShape";          // "CxHxW"
    public const string MetaThresholds = "coral.thresholds";          // JSON object: signal name → threshold
    public const string MetaFlagSignal = "coral.flagSignal";
    public const string MetaFlagRate = "coral.flagRate";
    public const string MetaOutOfDomainThreshold = "coral.outOfDomainThreshold"; // invariant-culture double, on feature-distance
    public const string MetaVersion = "coral.version";
}
