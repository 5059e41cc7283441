namespace Coral.Pipeline.Contracts;

/// <summary>One synthetic image: PNG bytes and what the classifier makes of it.</summary>
public sealed record GeneratedImage(
    byte[] Png,
    long Seed,
    double SignalBefore,
    double SignalAfter,
    int ClassIndex,
    string ClassName,
    float[] ClassProbabilities,
    bool Consistent);
