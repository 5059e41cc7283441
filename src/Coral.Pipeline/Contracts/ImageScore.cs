namespace Coral.Pipeline.Contracts;

/// <summary>One image's classifier output and longtail signal (higher = further in the tail).</summary>
public sealed record ImageScore(
    int PredictedClass,
    string PredictedLabel,
    float[] Probabilities,
    IReadOnlyList<string> ClassNames,
    string SignalName,
    double Signal)
{
    /// <summary>What was done to the input to fit the classifier, e.g. "RGB 32x32 → gray 28x28 (BT.601 luma, bilinear)"; null when it already fitted.</summary>
    public string? Conversion { get; init; }
    /// <summary>Why the input looks unlike the classifier's training data (colour vs gray, size far off); empty when nothing stands out.</summary>
    public IReadOnlyList<string> OutOfDomain { get; init; } = [];
}
