using System.Text.Json.Serialization;
using Coral.Pipeline.Scoring;

namespace Coral.Pipeline.Manifests;

public enum ReviewStatus { Pending, Approved, Rejected }

/// <summary>
/// manifests/{jobId}.json, version <see cref="CurrentVersion"/>; its JSON Schema is
/// Manifests/review-manifest.v1.schema.json (validated in tests). Written once by the generator (the
/// commit point of a batch), then updated only by reviewers with ETag concurrency.
/// </summary>
public sealed record ReviewManifest
{
    public const string CurrentVersion = Names.Defaults.ManifestSchemaVersion;
    public const string SchemaFileName = "review-manifest.v1.schema.json";

    public string SchemaVersion { get; init; } = CurrentVersion;
    public required string JobId { get; init; }
    public required SourceBlob Source { get; init; }
    public required ClassifierInfo Classifier { get; init; }
    public required DiffusionInfo Diffusion { get; init; }
    public required List<ManifestImage> Images { get; init; }
    public string? ReviewPage { get; init; }
    public Introspection? Introspection { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public sealed record ClassifierInfo(string Version, double Threshold, ImageScore Scores);

public sealed record DiffusionInfo(string Model, IReadOnlyDictionary<string, double> LtgParameters);

/// <summary>Optional concept description from a vision model (off by default).</summary>
public sealed record Introspection(string Model, string Description, DateTimeOffset At);

public sealed record ManifestImage
{
    public required int Index { get; init; }
    /// <summary>Blob path inside the synthetic container: {jobId}/{index}.png.</summary>
    public required string Path { get; init; }
    public required string Sha256 { get; init; }
    public required long Seed { get; init; }
    public required double SignalBefore { get; init; }
    public required double SignalAfter { get; init; }
    public required int ClassIndex { get; init; }
    public required string ClassName { get; init; }
    public required float[] ClassProbabilities { get; init; }
    public required bool Consistent { get; init; }
    public ReviewStatus Status { get; set; } = ReviewStatus.Pending;
    public string? ReviewedBy { get; set; }
    public DateTimeOffset? ReviewedAt { get; set; }
    /// <summary>Path inside the curated container once approved: {class}/{jobId}-{index}.png.</summary>
    public string? CuratedPath { get; set; }

    [JsonIgnore] public string FileName => $"{Index}.png";
}
