namespace Coral.Ml.Scoring;

/// <summary>
/// The scorer's verdict on one image: the deployed classifier's prediction and probabilities, every signal
/// (by name, higher = more longtail), and the flag decision with the threshold and the signal that decided it.
/// </summary>
public sealed record ScoreResult(
    string Source,
    int PredictedClass,
    string PredictedName,
    IReadOnlyList<float> Probabilities,
    IReadOnlyDictionary<string, double> Signals,
    bool Flagged,
    string? FlagSignal,
    double? Threshold,
    string? Note)
{
    /// <summary>Why the image looks unlike the classifier's training data (its energy above the calibrated ceiling); null when it does not.</summary>
    public string? OutOfDomain { get; init; }
}
