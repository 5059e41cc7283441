using Coral.Pipeline.Contracts;

namespace Coral.Pipeline.Scoring;

/// <summary>
/// Seam to the classifier: decode one image and score its longtail signal. The real implementation wraps
/// Coral.Imaging (decode) and Coral.Ml (classifier bundle + signal); tests use small doubles.
/// Bad input (not an image, truncated, bomb header, ...) must throw <see cref="ImageRejectedException"/>;
/// anything else is treated as transient and retried.
/// </summary>
public interface IImageScorer
{
    /// <summary>Identifies the classifier (bundle name + version/hash), written into every record.</summary>
    string ModelVersion { get; }

    /// <summary>The signal's calibrated flagging threshold shipped with the model, if any.</summary>
    double? RecommendedThreshold { get; }

    ImageScore Score(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct);
}

/// <summary>The input is not a usable image; permanent, never retried. The message names the input.</summary>
public sealed class ImageRejectedException(string sourceName, string reason, Exception? inner = null)
    : Exception($"{sourceName}: {reason}", inner), ICoralInputError
{
    public string SourceName { get; } = sourceName;
    public string Reason { get; } = reason;
    /// <summary>The decoder's own error type (e.g. ImageDimensionsTooLargeException), else this type: machine-readable for reports.</summary>
    public string ErrorType { get; } = inner?.GetType().Name ?? nameof(ImageRejectedException);
}
