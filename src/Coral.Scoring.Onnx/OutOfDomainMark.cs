using System.Globalization;

namespace Coral.Scoring.Onnx;

/// <summary>
/// The out-of-domain mark both scoring runtimes share: an input whose feature distance (the smallest squared
/// Mahalanobis distance of the deployed classifier's features to a training class mean, Lee et al. 2018) is above the
/// <see cref="Quantile"/> of its values on real reference images is unlike the training data. About 1 in 200 in-domain
/// images is marked. Energy was tried first and could not tell noise from clothing (docs/results/domain.md).
/// </summary>
public static class OutOfDomainMark
{
    public const double Quantile = 0.995;
    public const string Signal = OnnxNames.FeatureDistance;

    /// <summary>The reason a reviewer reads, or null when the score is not above the threshold (or none is calibrated).</summary>
    public static string? Reason(double featureDistance, double? threshold) =>
        threshold is double t && featureDistance > t
            ? string.Create(CultureInfo.InvariantCulture, $"feature distance {featureDistance:F1} is above {t:F1}, the {Quantile:P1} quantile on real reference images: unlike the classifier's training data")
            : null;
}
