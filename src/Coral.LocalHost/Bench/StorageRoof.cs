using System.Diagnostics;
using Azure.Storage.Blobs.Models;
using Azure;
using Coral.Pipeline.Storage;

namespace Coral.LocalHost.Bench;

/// <summary>What the storage account alone can do: GET + create-only PUT pairs per second at a given concurrency.</summary>
public sealed record StorageRoofResult(int Pairs, int Concurrency, double PairsPerSecond, double Seconds);

/// <summary>
/// The storage roof of the pipeline bench: per pair, the two requests the scorer makes per blob (a GET If-Match of an
/// image, a create-only PUT of a record-sized blob), with no decoding and no model. Measured on the same account in
/// the same run, so the pipeline's blobs/s can be read as a fraction of it.
/// </summary>
public static class StorageRoof
{
    /// <param name="storage">A namespace of its own (its containers are filled here).</param>
    public static async Task<StorageRoofResult> MeasureAsync(PipelineStorage storage, IReadOnlyList<BenchInput> images, byte[] record, int concurrency,
        CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        await storage.EnsureCreatedAsync(ct);
        // Not timed: the blobs to read.
        var etags = new ETag[images.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, images.Count), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (i, t) =>
            etags[i] = (await storage.Incoming.GetBlobClient(images[i].Name).UploadAsync(BinaryData.FromBytes(images[i].Content), overwrite: true, t)).Value.ETag);

        string run = Guid.NewGuid().ToString("N")[..8];
        // Warm-up, not timed (JIT, connection pool): the pipeline's host is measured warm too, after its first listing.
        await PairsAsync(storage, images, etags, record, $"warm-{run}", Math.Min(64, images.Count), concurrency, ct);
        var clock = Stopwatch.StartNew();
        await PairsAsync(storage, images, etags, record, run, images.Count, concurrency, ct);
        double seconds = clock.Elapsed.TotalSeconds;
        return new StorageRoofResult(images.Count, concurrency, images.Count / Math.Max(seconds, 1e-6), seconds);
    }

    private static Task PairsAsync(PipelineStorage storage, IReadOnlyList<BenchInput> images, ETag[] etags, byte[] record, string run, int count,
        int concurrency, CancellationToken ct) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (i, t) =>
        {
            var get = await storage.Incoming.GetBlobClient(images[i].Name).DownloadStreamingAsync(new BlobDownloadOptions
            {
                Conditions = new BlobRequestConditions { IfMatch = etags[i] },
            }, t);
            using (get.Value) await get.Value.Content.CopyToAsync(Stream.Null, t);
            await storage.Scores.GetBlobClient($"roof-{run}-{i}.json").UploadAsync(BinaryData.FromBytes(record), new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
            }, t);
        });
}
