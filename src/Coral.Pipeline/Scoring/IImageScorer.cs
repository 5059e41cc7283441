using Coral.Pipeline.Contracts;

namespace Coral.Pipeline.Scoring;

/// <summary>
/// Seam to the classifier, in two steps so that many inputs share one forward pass: <see cref="Prepare"/> decodes one
/// image (callers run it concurrently), <see cref="ScoreBatch"/> scores prepared images together (the
/// <see cref="ScoringBatcher"/> calls it). The real implementation wraps Coral.Imaging (decode) and the exported
/// classifier; tests use small doubles that implement only <see cref="Score"/>.
/// Bad input (not an image, truncated, bomb header, ...) must throw <see cref="ImageRejectedException"/>;
/// anything else is treated as transient and retried.
/// </summary>
public interface IImageScorer
{
    /// <summary>Identifies the classifier (bundle name + version/hash), written into every record.</summary>
    string ModelVersion { get; }

    /// <summary>The signal's calibrated flagging threshold shipped with the model, if any.</summary>
    double? RecommendedThreshold { get; }

    /// <summary>Decodes and scores one image on its own.</summary>
    ImageScore Score(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct);

    /// <summary>
    /// Decodes one image for <see cref="ScoreBatch"/>; throws for bad input, so a rejection never fails a batch. The
    /// default (a scorer without batching) scores the image right here and carries the score.
    /// </summary>
    PreparedImage Prepare(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct) => new(sourceName, Score(image, sourceName, ct));

    /// <summary>Scores prepared images in one forward pass, results in input order. The default returns the scores its <see cref="Prepare"/> carried.</summary>
    IReadOnlyList<ImageScore> ScoreBatch(IReadOnlyList<PreparedImage> images, CancellationToken ct) =>
        [.. images.Select(p => p.Input as ImageScore ?? throw new ArgumentException($"{p.SourceName} was prepared by another scorer", nameof(images)))];
}

/// <summary>An input after <see cref="IImageScorer.Prepare"/>: what the scorer that made it needs for the forward pass.</summary>
public sealed record PreparedImage(string SourceName, object Input);

/// <summary>The input is not a usable image; permanent, never retried. The message names the input.</summary>
public sealed class ImageRejectedException(string sourceName, string reason, Exception? inner = null)
    : Exception($"{sourceName}: {reason}", inner), ICoralInputError
{
    public string SourceName { get; } = sourceName;
    public string Reason { get; } = reason;
    /// <summary>The decoder's own error type (e.g. ImageDimensionsTooLargeException), else this type: machine-readable for reports.</summary>
    public string ErrorType { get; } = inner?.GetType().Name ?? nameof(ImageRejectedException);
}
