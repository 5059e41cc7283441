using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Logging;

namespace Coral.LocalHost.Serving;

/// <summary>
/// Local stand-in for the Functions blob trigger. Each listing of incoming/ starts every blob version (name + ETag)
/// that has no score record and is not already in flight, and returns without waiting for them: up to
/// <c>concurrency</c> blobs download and decode at once and share the scorer's batches, while the next listing
/// already sees new arrivals. The score record is the receipt (its name is derived from name + ETag), so a
/// restarted scanner reads the set of recorded versions from one listing of scores/. A flagged blob's job message
/// is sent before its record is written: a crash in between re-scores and re-sends (the generator dedupes) instead
/// of losing the job. Failures are retried with a growing delay; after <see cref="Defaults.BlobPoisonThreshold"/>
/// tries the blob gets a "failed" record with the reason, so nothing is retried forever and nothing is lost.
/// </summary>
public sealed class BlobScanner
{
    private readonly PipelineStorage _storage;
    private readonly ScoreHandler _scorer;
    private readonly ILogger _logger;
    private readonly TimeSpan _retryDelay;
    private readonly SemaphoreSlim _slots;
    private readonly int _concurrency;
    private readonly ConcurrentDictionary<string, byte> _done = new();
    private readonly ConcurrentDictionary<string, Task> _inFlight = new();
    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset RetryAt)> _failures = new();
    private bool _recordsLoaded;

    /// <param name="concurrency">Blobs downloaded and decoded at once; they fill the scorer's batches.</param>
    /// <param name="retryDelay">Wait before the first retry of a failed blob; it doubles with every failure (at most 30 s).</param>
    public BlobScanner(PipelineStorage storage, ScoreHandler scorer, ILogger logger, int concurrency = Defaults.ScorerConcurrency, TimeSpan? retryDelay = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        _storage = storage;
        _scorer = scorer;
        _logger = logger;
        _slots = new SemaphoreSlim(concurrency, concurrency);
        _concurrency = concurrency;
        _retryDelay = retryDelay ?? TimeSpan.FromSeconds(1);
    }

    /// <summary>Error type of the record for a listed blob whose name the URL rewrites (dot segments).</summary>
    public const string UnaddressableBlobName = "UnaddressableBlobName";

    /// <summary>Blob versions with a record (found at start or written since).</summary>
    public int Processed => _done.Count;

    /// <summary>Blob versions started and not yet finished.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>
    /// At least a full round of started blobs waits for a slot: whatever a listing found now would only queue behind
    /// them, and each listing of a large container costs the storage time that scoring needs (a 2,000-blob backlog).
    /// </summary>
    public bool Saturated => _inFlight.Count >= 2 * _concurrency;

    /// <summary>Blob versions that failed and wait for their retry.</summary>
    public int AwaitingRetry => _failures.Count;

    /// <summary>Listings of incoming/ so far.</summary>
    public int Listings { get; private set; }

    /// <summary>How long the last listing of incoming/ took (the host spaces listings by it).</summary>
    public TimeSpan LastListing { get; private set; }

    /// <summary>One listing: starts every new blob version that is due and returns how many it started, without waiting for them.</summary>
    public async Task<int> ListOnceAsync(CancellationToken ct) => (await StartNewAsync(ct)).Count;

    /// <summary>One listing, then waits until every blob version it started is finished; returns how many it started.</summary>
    public async Task<int> ScanOnceAsync(CancellationToken ct)
    {
        var started = await StartNewAsync(ct);
        await Task.WhenAll(started);
        return started.Count;
    }

    /// <summary>Waits until nothing is in flight.</summary>
    public Task DrainAsync() => Task.WhenAll(_inFlight.Values);

    private async Task<List<Task>> StartNewAsync(CancellationToken ct)
    {
        if (!_recordsLoaded)
        {
            // One listing of the records instead of one request per blob per scan.
            await foreach (var r in _storage.Scores.GetBlobsAsync(BlobTraits.None, BlobStates.None, null, ct))
                if (BlobPaths.JobIdOfScoreRecord(r.Name) is { } id) _done.TryAdd(id, 0);
            _recordsLoaded = true;
        }
        var clock = Stopwatch.StartNew();
        var started = new List<Task>();
        var now = DateTimeOffset.UtcNow;
        await foreach (var item in _storage.Incoming.GetBlobsAsync(cancellationToken: ct))
        {
            if (item.Properties.ETag is not { } etag) continue;
            string jobId = JobIds.Derive(item.Name, etag.ToString());
            // In flight first: a run marks its version done before it leaves the in-flight set.
            if (_inFlight.ContainsKey(jobId) || _done.ContainsKey(jobId)) continue;
            if (_failures.TryGetValue(jobId, out var failed) && failed.RetryAt > now) continue;
            var run = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_inFlight.TryAdd(jobId, run.Task)) continue;
            started.Add(run.Task);
            // On the thread pool: no part of a blob's work (decoding is synchronous) may hold up this listing.
            _ = Task.Run(() => RunAsync(item, jobId, run, ct), CancellationToken.None);
        }
        LastListing = clock.Elapsed;
        Listings++;
        return started;
    }

    private async Task RunAsync(BlobItem item, string jobId, TaskCompletionSource run, CancellationToken ct)
    {
        try
        {
            await _slots.WaitAsync(ct);
            try { await HandleAsync(item, jobId, ct); }
            finally { _slots.Release(); }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception e)
        {
            // Writing the failed record itself failed (storage down): the blob stays unrecorded and is tried again later.
            _logger.LogWarning("Recording the failure of {Blob} failed, will retry: {Type}: {Message}", item.Name, e.GetType().Name, e.Message);
        }
        finally
        {
            _inFlight.TryRemove(jobId, out _);
            run.TrySetResult();
        }
    }

    private async Task HandleAsync(BlobItem item, string jobId, CancellationToken ct)
    {
        string etag = JobIds.NormalizeEtag(item.Properties.ETag!.Value.ToString());
        try
        {
            var client = _storage.Incoming.GetBlobClient(item.Name);
            if (new BlobUriBuilder(client.Uri).BlobName != item.Name)
            {
                // The URL normalises the name ("a/../b" → "b"), so this blob can never be read by name: without a
                // record it would look "deleted" and be lost silently. (Azurite stores "a\..\b" as "a/../b".)
                _logger.LogWarning("Blob {Blob} cannot be addressed by its name (the URL resolves to {Resolved}); recording it as rejected",
                    item.Name, client.Name);
                await _scorer.RecordRejectedAsync(item.Name, etag, item.Properties.ContentLength ?? 0,
                    $"blob name cannot be addressed: its URL resolves to '{client.Name}'", UnaddressableBlobName, ct);
                Done(jobId);
                return;
            }
            var listed = new ListedBlob(item.Properties.ETag!.Value, item.Properties.ContentLength ?? 0);
            await _scorer.HandleAsync(client, listed, SendJobAsync, ct);
            // Null: deleted or overwritten since the listing; a new version is listed under its own ETag.
            Done(jobId);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception e)
        {
            int n = _failures.AddOrUpdate(jobId, _ => Failure(1), (_, f) => Failure(f.Failures + 1)).Failures;
            string reason = $"{e.GetType().Name}: {e.Message}";
            if (n < Defaults.BlobPoisonThreshold)
            {
                _logger.LogWarning("Scoring {Blob} failed (try {Try} of {Max}), will retry in {Delay}: {Reason}", item.Name, n, Defaults.BlobPoisonThreshold, RetryDelay(n), reason);
                return;
            }
            _logger.LogError("Scoring {Blob} failed {Max} times; recording the failure: {Reason}", item.Name, n, reason);
            await _scorer.RecordFailureAsync(item.Name, etag, $"failed {n} times; last error: {reason}", e.GetType().Name, ct);
            Done(jobId);
        }
    }

    /// <summary>The n-th failure and when to try again; at the poison threshold at once, since the failed record is written next.</summary>
    private (int Failures, DateTimeOffset RetryAt) Failure(int n) =>
        (n, n < Defaults.BlobPoisonThreshold ? DateTimeOffset.UtcNow + RetryDelay(n) : DateTimeOffset.MinValue);

    private TimeSpan RetryDelay(int failures) => TimeSpan.FromMilliseconds(Math.Min(30_000, _retryDelay.TotalMilliseconds * (1 << (failures - 1))));

    private async Task SendJobAsync(ScoreResult result, CancellationToken ct)
    {
        if (result.JobMessage is not { } message) return;
        await _storage.Jobs.SendMessageAsync(message, ct);
        _logger.LogInformation("Queued longtail job {JobId} for {Blob}", result.Record.JobId, result.Record.Source.Name);
    }

    private void Done(string jobId)
    {
        _done.TryAdd(jobId, 0);
        _failures.TryRemove(jobId, out _);
    }
}
