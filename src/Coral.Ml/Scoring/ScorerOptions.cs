using Coral.Ml.Common;
using Coral.Ml.Signals;

namespace Coral.Ml.Scoring;

/// <summary>What to do with an image whose channels or size differ from the classifier's input.</summary>
public enum WrongSizePolicy
{
    /// <summary>Throw <see cref="ImageShapeMismatchException"/> naming the image.</summary>
    Refuse,
    /// <summary>Convert channels (luma / repeat) and resize bilinearly; the result carries a note.</summary>
    Resize,
}

public sealed record ScorerOptions
{
    public int BatchSize { get; init; } = 256;
    public WrongSizePolicy WrongSize { get; init; } = WrongSizePolicy.Refuse;
    /// <summary>Signal that decides the flag; null = the one stored in the calibration.</summary>
    public SignalKind? FlagSignal { get; init; }
    /// <summary>
    /// Compute the ensemble mutual information (K forward passes). Off = one pass: prediction, entropy,
    /// energy and the epistemic head only.
    /// </summary>
    public bool IncludeEnsemble { get; init; } = true;
}

/// <summary>An image does not have the classifier's input shape and the policy is <see cref="WrongSizePolicy.Refuse"/>.</summary>
public sealed class ImageShapeMismatchException(string source, string problem)
    : Exception($"{source}: {problem}"), ICoralInputError
{
    public string Source_ { get; } = source;
}
