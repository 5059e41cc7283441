using System.Collections.Concurrent;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs;
using Azure;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Logging;

namespace Coral.LocalHost.Serving;

/// <summary>
/// Local stand-in for the Functions blob trigger: lists incoming/, and for every blob version (name + ETag)
/// without a receipt runs the scorer, sends its job message, then writes the receipt (as the host does in
/// azure-webjobs-hosts/blobreceipts). Transient failures are retried on later scans; after
/// <see cref="Defaults.BlobPoisonThreshold"/> tries the blob gets a "failed" record with the reason, so
/// nothing is retried forever and nothing is lost.
/// </summary>
public sealed class BlobScanner(PipelineStorage storage, ScoreHandler scorer, ILogger logger, int maxParallelism = 2)
{
    private readonly ConcurrentDictionary<string, byte> _done = new();
    private readonly ConcurrentDictionary<string, int> _failures = new();
    private bool _receiptsLoaded;

    /// <summary>Error type of the record for a listed blob whose name the URL rewrites (dot segments).</summary>
    public const string UnaddressableBlobName = "UnaddressableBlobName";

    public int Processed => _done.Count;

    /// <summary>One pass over incoming/; returns how many blob versions it handled (0 = nothing new).</summary>
    public async Task<int> ScanOnceAsync(CancellationToken ct)
    {
        if (!_receiptsLoaded)
        {
            // One listing instead of one HEAD per blob per scan.
            await foreach (var r in storage.Receipts.GetBlobsAsync(BlobTraits.None, BlobStates.None, BlobPaths.ScorerReceiptsPrefix, ct))
                _done.TryAdd(r.Name[BlobPaths.ScorerReceiptsPrefix.Length..], 0);
            _receiptsLoaded = true;
        }
        var todo = new List<BlobItem>();
        await foreach (var item in storage.Incoming.GetBlobsAsync(cancellationToken: ct))
        {
            var etag = item.Properties.ETag?.ToString();
            if (etag is null) continue;
            if (!_done.ContainsKey(JobIds.Derive(item.Name, etag))) todo.Add(item);
        }
        await Parallel.ForEachAsync(todo, new ParallelOptions { MaxDegreeOfParallelism = maxParallelism, CancellationToken = ct },
            async (item, token) => await HandleAsync(item, token));
        return todo.Count;
    }

    private async Task HandleAsync(BlobItem item, CancellationToken ct)
    {
        string etag = JobIds.NormalizeEtag(item.Properties.ETag!.Value.ToString());
        string jobId = JobIds.Derive(item.Name, etag);
        try
        {
            var client = storage.Incoming.GetBlobClient(item.Name);
            if (new BlobUriBuilder(client.Uri).BlobName != item.Name)
            {
                // The URL normalises the name ("a/../b" → "b"), so this blob can never be read by name: without a
                // record it would look "deleted" and be lost silently. (Azurite stores "a\..\b" as "a/../b".)
                logger.LogWarning("Blob {Blob} cannot be addressed by its name (the URL resolves to {Resolved}); recording it as rejected",
                    item.Name, client.Name);
                await scorer.RecordRejectedAsync(item.Name, etag, item.Properties.ContentLength ?? 0,
                    $"blob name cannot be addressed: its URL resolves to '{client.Name}'", UnaddressableBlobName, ct);
                await WriteReceiptAsync(jobId, item.Name, etag, ct);
                return;
            }
            var result = await scorer.HandleAsync(client, ct);
            if (result is not null && result.Record.JobId == jobId && result.JobMessage is not null)
            {
                await storage.Jobs.SendMessageAsync(result.JobMessage, ct);
                logger.LogInformation("Queued longtail job {JobId} for {Blob}", jobId, item.Name);
            }
            // result for another ETag: the blob changed since listing; that version has its own receipt.
            if (result is null || result.Record.JobId == jobId) await WriteReceiptAsync(jobId, item.Name, etag, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception e)
        {
            int n = _failures.AddOrUpdate(jobId, 1, (_, c) => c + 1);
            string reason = $"{e.GetType().Name}: {e.Message}";
            if (n < Defaults.BlobPoisonThreshold)
            {
                logger.LogWarning("Scoring {Blob} failed (try {Try} of {Max}), will retry: {Reason}", item.Name, n, Defaults.BlobPoisonThreshold, reason);
                return;
            }
            logger.LogError("Scoring {Blob} failed {Max} times; recording the failure: {Reason}", item.Name, n, reason);
            await scorer.RecordFailureAsync(item.Name, etag, $"failed {n} times; last error: {reason}", e.GetType().Name, ct);
            await WriteReceiptAsync(jobId, item.Name, etag, ct);
        }
    }

    private async Task WriteReceiptAsync(string jobId, string name, string etag, CancellationToken ct)
    {
        var receipt = storage.Receipts.GetBlobClient(BlobPaths.ScorerReceipt(jobId));
        try
        {
            await receipt.UploadAsync(PipelineJson.Serialize(new { blob = name, etag, at = DateTimeOffset.UtcNow }),
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, ct);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412) { }
        _done.TryAdd(jobId, 0);
        _failures.TryRemove(jobId, out _);
    }
}
