using Coral.Pipeline.Contracts;
using Coral.Pipeline.Manifests;

namespace Coral.Pipeline.Introspection;

/// <summary>
/// Optional "longtail introspection": asks a vision model what the flagged source and its synthetic batch have
/// in common. Off by default (<see cref="NoIntrospection"/>). Implementations never fail a batch: every problem
/// comes back as a <see cref="IntrospectionStatus.Failed"/> record; only the caller's own cancellation throws.
/// </summary>
public interface ILongtailIntrospector
{
    /// <summary>Null when introspection is off; otherwise a described or failed record for the manifest.</summary>
    Task<ManifestIntrospection?> DescribeAsync(IntrospectionRequest request, CancellationToken ct);
}

/// <summary>What the model is shown: the source image, the batch (as one contact sheet) and the scores.</summary>
public sealed record IntrospectionRequest(LongtailJob Job, ReadOnlyMemory<byte> SourceImage, IReadOnlyList<GeneratedImage> Images);

/// <summary>The default: no endpoint configured, nothing is sent anywhere, the manifest has no introspection.</summary>
public sealed class NoIntrospection : ILongtailIntrospector
{
    public static NoIntrospection Instance { get; } = new();

    private NoIntrospection() { }

    public Task<ManifestIntrospection?> DescribeAsync(IntrospectionRequest request, CancellationToken ct) =>
        Task.FromResult<ManifestIntrospection?>(null);
}
