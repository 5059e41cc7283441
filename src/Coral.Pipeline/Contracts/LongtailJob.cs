namespace Coral.Pipeline.Contracts;

/// <summary>The `longtail-jobs` message: everything the generator needs, pinned to one source blob version.</summary>
public sealed record LongtailJob
{
    public string SchemaVersion { get; init; } = "1.0";
    public required string JobId { get; init; }
    public required SourceBlob Source { get; init; }
    public required string ClassifierVersion { get; init; }
    public required double Threshold { get; init; }
    public required ImageScore Score { get; init; }
    public required int ImageCount { get; init; }

    /// <summary>Seeds derive from the jobId, so a retried job asks for the same images.</summary>
    public long SeedFor(int index)
    {
        var h = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{JobId}/{index}"));
        return BitConverter.ToInt64(h, 0) & 0x7FFF_FFFF_FFFF_FFFF;
    }
}
