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
    bool Consistent)
{
    /// <summary>What was measured on this candidate and why it was kept (null from generators that measure nothing more).</summary>
    public CandidateEvidence? Evidence { get; init; }
}

/// <summary>
/// What the generator measured on one candidate image, and why it was kept or dropped: the guiding signal beside the
/// same seed sampled without guidance (the same footing), a measure that was never optimised, and whose class verdict
/// decided the filter.
/// </summary>
public sealed record CandidateEvidence
{
    public required long Seed { get; init; }
    public required string ClassName { get; init; }
    public required string Signal { get; init; }
    public required double SignalAfter { get; init; }
    /// <summary>The guiding signal of the same seed sampled without guidance.</summary>
    public double? SignalUnguided { get; init; }
    public string? HeldOutSignal { get; init; }
    public double? HeldOutAfter { get; init; }
    public double? HeldOutUnguided { get; init; }
    public required bool Consistent { get; init; }
    /// <summary>"diffusion-model" (its implicit classifier) or "guide-ensemble".</summary>
    public required string ConsistencyBy { get; init; }
    /// <summary>The diffusion model's class for the image and its margin for the target (when it decided).</summary>
    public string? ModelClass { get; init; }
    public double? ModelMargin { get; init; }
    /// <summary>The smallest margin the class asks for (a quantile of the margins of its unguided samples); null: argmin only.</summary>
    public double? ModelMarginThreshold { get; init; }
    public required bool Kept { get; init; }
    /// <summary>Rank among in-class candidates by the signal (1 = highest; 0 = not ranked).</summary>
    public int Rank { get; init; }
    public required string Reason { get; init; }
}

/// <summary>A job's images in order, plus the candidates the generator made and dropped (no image is stored for those).</summary>
public sealed record GeneratedBatch(IReadOnlyList<GeneratedImage> Images, IReadOnlyList<CandidateEvidence> Dropped)
{
    public static GeneratedBatch Of(IReadOnlyList<GeneratedImage> images) => new(images, []);
}
