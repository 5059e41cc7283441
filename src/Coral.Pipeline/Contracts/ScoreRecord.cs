namespace Coral.Pipeline.Contracts;

/// <summary>The source blob of a record, pinned to one version.</summary>
public sealed record SourceBlob(string Container, string Name, string ETag, string Sha256, long Size);

public enum ScoreOutcome { Scored, Flagged, Rejected, Failed }

/// <summary>
/// scores/{jobId}.json: exactly one per input (blob name + ETag). Flagged images carry the job they started;
/// rejected/failed inputs carry the reason instead of scores.
/// </summary>
public sealed record ScoreRecord
{
    public string SchemaVersion { get; init; } = "1.0";
    public required string JobId { get; init; }
    public required ScoreOutcome Outcome { get; init; }
    public required SourceBlob Source { get; init; }
    public string? ClassifierVersion { get; init; }
    public double? Threshold { get; init; }
    public ImageScore? Score { get; init; }
    public string? Reason { get; init; }
    /// <summary>Rejected/failed only: the exception type behind <see cref="Reason"/> (stable, for counting reasons).</summary>
    public string? ErrorType { get; init; }
    public DateTimeOffset ScoredAt { get; init; }

    public bool Flagged => Outcome == ScoreOutcome.Flagged;
}
