using System.Text.Json.Serialization;
using Coral.Pipeline.Contracts;

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
    /// <summary>Candidates the generator made and dropped (filter or rank), with what was measured; absent without over-generation.</summary>
    public IReadOnlyList<CandidateEvidence>? DroppedCandidates { get; init; }
    public string? ReviewPage { get; init; }
    /// <summary>Absent when introspection is off (the default); see <see cref="ManifestIntrospection"/>.</summary>
    public ManifestIntrospection? Introspection { get; init; }
    /// <summary>The source image's class as a reviewer confirmed it (null until then; the classifier's guess is in Classifier.Scores).</summary>
    public string? SourceConfirmedClass { get; set; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public sealed record ClassifierInfo(string Version, double Threshold, ImageScore Scores);

public sealed record DiffusionInfo(string Model, IReadOnlyDictionary<string, double> LtgParameters);

public enum IntrospectionStatus { Described, Failed }

public enum IntrospectionAuth { ApiKey, EntraId }

/// <summary>
/// Optional "longtail introspection" (off by default): a vision chat deployment's short description of the
/// concept the source and its batch share. A failed call is recorded here with its reason; it never blocks
/// the batch. Exactly one of <see cref="Description"/> (described) and <see cref="Error"/> (failed) is set.
/// </summary>
public sealed record ManifestIntrospection
{
    public required IntrospectionStatus Status { get; init; }
    /// <summary>Chat deployment name on the endpoint (null only if the introspector itself broke).</summary>
    public string? Deployment { get; init; }
    /// <summary>Model the service said answered (null without an answer).</summary>
    public string? Model { get; init; }
    /// <summary>Host only: enough to tell endpoints apart, nothing secret.</summary>
    public string? EndpointHost { get; init; }
    public IntrospectionAuth? Auth { get; init; }
    public string? Description { get; init; }
    public string? Error { get; init; }
    /// <summary>HTTP requests sent, retries included.</summary>
    public required int Attempts { get; init; }
    public required double Seconds { get; init; }
    public required DateTimeOffset At { get; init; }
}

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
    /// <summary>What the generator measured on the image and why it kept it.</summary>
    public CandidateEvidence? Evidence { get; init; }
    public ReviewStatus Status { get; set; } = ReviewStatus.Pending;
    /// <summary>The class a reviewer confirmed or corrected; only this decides where an approved image is curated.</summary>
    public string? ConfirmedClass { get; set; }
    public string? ReviewedBy { get; set; }
    public DateTimeOffset? ReviewedAt { get; set; }
    /// <summary>Path inside the curated container once approved: {class}/{jobId}-{index}.png.</summary>
    public string? CuratedPath { get; set; }

    [JsonIgnore] public string FileName => $"{Index}.png";
}
