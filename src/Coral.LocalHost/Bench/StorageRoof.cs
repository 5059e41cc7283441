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
/// the same run, so the pipeline's blobs/s can be read as a fraction of it. The images are uploaded once and every
/// measurement reads the same ones: the roof adds the same few blobs to the account whatever the pipeline's input size,
/// because an in-memory Azurite gets slower as its account fills.
/// </summary>
public sealed class StorageRoof
{
    private readonly PipelineStorage _storage;
    private readonly IReadOnlyList<BenchInput> _images;
    private readonly ETag[] _etags;
    private readonly byte[] _record;

    private StorageRoof(PipelineStorage storage, IReadOnlyList<BenchInput> images, ETag[] etags, byte[] record) =>
        (_storage, _images, _etags, _record) = (storage, images, etags, record);

    /// <param name="storage">A namespace of its own (its containers are created and filled here).</param>
    /// <param name="record">The body of each PUT: a score record's size.</param>
    public static async Task<StorageRoof> UploadAsync(PipelineStorage storage, IReadOnlyList<BenchInput> images, byte[] record, CancellationToken ct)
    {
        if (images.Count == 0) throw new ArgumentException("the storage roof needs at least one image", nameof(images));
        await storage.EnsureCreatedAsync(ct);
        var etags = new ETag[images.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, images.Count), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (i, t) =>
            etags[i] = (await storage.Incoming.GetBlobClient(images[i].Name).UploadAsync(BinaryData.FromBytes(images[i].Content), overwrite: true, t)).Value.ETag);
        return new StorageRoof(storage, images, etags, record);
    }

    /// <summary>One warm-up pass (not timed: JIT, connection pool; the pipeline's host is measured warm too), then one timed pass over every image.</summary>
    public async Task<StorageRoofResult> MeasureAsync(int concurrency, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        string run = Guid.NewGuid().ToString("N")[..8];
        await PairsAsync($"warm-{run}", Math.Min(64, _images.Count), concurrency, ct);
        var clock = Stopwatch.StartNew();
        await PairsAsync(run, _images.Count, concurrency, ct);
        double seconds = clock.Elapsed.TotalSeconds;
        return new StorageRoofResult(_images.Count, concurrency, _images.Count / Math.Max(seconds, 1e-6), seconds);
    }

    private Task PairsAsync(string run, int count, int concurrency, CancellationToken ct) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (i, t) =>
        {
            var get = await _storage.Incoming.GetBlobClient(_images[i].Name).DownloadStreamingAsync(new BlobDownloadOptions
            {
                Conditions = new BlobRequestConditions { IfMatch = _etags[i] },
            }, t);
            using (get.Value) await get.Value.Content.CopyToAsync(Stream.Null, t);
            await _storage.Scores.GetBlobClient($"roof-{run}-{i}.json").UploadAsync(BinaryData.FromBytes(_record), new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
            }, t);
        });
}
