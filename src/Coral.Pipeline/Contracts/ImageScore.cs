namespace Coral.Pipeline.Contracts;

/// <summary>One image's classifier output and longtail signal (higher = further in the tail).</summary>
public sealed record ImageScore(
    int PredictedClass,
    string PredictedLabel,
    float[] Probabilities,
    IReadOnlyList<string> ClassNames,
    string SignalName,
    double Signal);
