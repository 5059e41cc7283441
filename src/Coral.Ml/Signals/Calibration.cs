using Coral.Scoring.Onnx;

namespace Coral.Ml.Signals;

/// <summary>
/// Flag thresholds, stored with the model: for each signal, the (1 − flag rate) quantile of its values on a
/// held-out reference set. An image is flagged when the deciding signal is strictly above its threshold.
/// </summary>
public sealed record Calibration(
    double FlagRate,
    SignalKind FlagSignal,
    IReadOnlyDictionary<SignalKind, double> Thresholds,
    int ReferenceCount,
    string ReferenceSet)
{
    /// <summary>Feature distance above which an input is marked out of domain (<see cref="OutOfDomainMark.Quantile"/> of its reference values); null for bundles calibrated before it existed.</summary>
    public double? OutOfDomainThreshold { get; init; }
    /// <summary>The images the out-of-domain threshold was fitted on when they are not <see cref="ReferenceSet"/> (a mark added to an older bundle).</summary>
    public string? OutOfDomainReference { get; init; }

    public double Threshold(SignalKind kind) =>
        Thresholds.TryGetValue(kind, out var t) ? t : throw new KeyNotFoundException($"no calibrated threshold for signal {kind}");

    /// <summary>Builds thresholds from reference values of each signal.</summary>
    public static Calibration Fit(IReadOnlyDictionary<SignalKind, float[]> reference, double flagRate, SignalKind flagSignal, string referenceSet)
    {
        if (flagRate <= 0 || flagRate >= 1) throw new ArgumentOutOfRangeException(nameof(flagRate), flagRate, "flag rate must be in (0, 1)");
        if (!reference.ContainsKey(flagSignal)) throw new ArgumentException($"no reference values for the flag signal {flagSignal}", nameof(reference));
        var thresholds = reference.ToDictionary(kv => kv.Key, kv => Quantile(kv.Value, 1 - flagRate));
        return new Calibration(flagRate, flagSignal, thresholds, reference[flagSignal].Length, referenceSet)
        {
            OutOfDomainThreshold = reference.TryGetValue(SignalKind.FeatureDistance, out var d) ? Quantile(d, OutOfDomainMark.Quantile) : null,
        };
    }

    /// <summary>Why an input with this feature distance is out of domain; null when it is not (or nothing is calibrated).</summary>
    public string? OutOfDomainReason(double featureDistance) => OutOfDomainMark.Reason(featureDistance, OutOfDomainThreshold);

    /// <summary>
    /// Empirical quantile with linear interpolation between order statistics (numpy's default, "type 7"):
    /// q at position (n − 1)·p of the sorted values.
    /// </summary>
    public static double Quantile(IReadOnlyList<float> values, double p)
    {
        if (values.Count == 0) throw new ArgumentException("cannot take a quantile of no values", nameof(values));
        if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "quantile must be in [0, 1]");
        var sorted = values.Select(v => (double)v).Order().ToArray();
        double pos = (sorted.Length - 1) * p;
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
