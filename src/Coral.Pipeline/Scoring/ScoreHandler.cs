using System.Security.Cryptography;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs;
using Azure;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Names;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Coral.Pipeline.Scoring;

/// <summary>Bound from the <c>Coral</c> section (<c>Coral__ScoreThreshold</c>, <c>Coral__ImagesPerJob</c>, <c>Coral__ScorerBatchSize</c>, ...).</summary>
public sealed record ScoringOptions
{
    /// <summary>Null: the model's recommended threshold, else <see cref="Defaults.ScoreThreshold"/>.</summary>
    [ConfigurationKeyName("ScoreThreshold")] // the setting's name; the property keeps the handler's word
    public double? Threshold { get; init; }
    public int ImagesPerJob { get; init; } = Defaults.ImagesPerJob;
    public long MaxInputBytes { get; init; } = Defaults.MaxInputBytes;
    /// <summary>Most images in one forward pass of the <see cref="ScoringBatcher"/>.</summary>
    [ConfigurationKeyName("ScorerBatchSize")]
    public int BatchSize { get; init; } = Defaults.ScorerBatchSize;
    /// <summary>How long the oldest image waits for others before its batch runs anyway.</summary>
    [ConfigurationKeyName("ScorerBatchWaitMilliseconds")]
    public int BatchWaitMilliseconds { get; init; } = Defaults.ScorerBatchWaitMilliseconds;

    public ScoringBatcher CreateBatcher(IImageScorer scorer) => new(scorer, BatchSize, TimeSpan.FromMilliseconds(BatchWaitMilliseconds));
}

/// <summary>What one scoring run produced: the record, and the job message for a flagged image.</summary>
public sealed record ScoreResult(ScoreRecord Record, LongtailJob? Job, bool AlreadyScored)
{
    /// <summary>The queue message text (JSON) for `longtail-jobs`, or null if the image was not flagged.</summary>
    public string? JobMessage => Job is null ? null : PipelineJson.Serialize(Job).ToString();
}

/// <summary>What a listing already says about one blob version, so that scoring it needs no HEAD.</summary>
public sealed record ListedBlob(ETag ETag, long Size);

/// <summary>
/// Scores one incoming blob version and writes scores/{jobId}.json exactly once, in two storage requests: a GET of the
/// blob (If-Match the listed ETag, when there is a listing) and a create-only PUT of the record (If-None-Match: *).
/// The record, named from name + ETag, is also the receipt. Safe under at-least-once delivery: a duplicate's PUT gets
/// 409, and only then is the committed record read and returned (re-emitting the job message, because the first
/// delivery may have died before its message was sent; the generator dedupes).
/// </summary>
public sealed class ScoreHandler(PipelineStorage storage, ScoringBatcher batcher, IImageScorer scorer, ScoringOptions options, ILogger<ScoreHandler> logger)
{
    /// <summary>A handler with its own batcher (tests, tools); hosts share one batcher through DI.</summary>
    public ScoreHandler(PipelineStorage storage, IImageScorer scorer, ScoringOptions options, ILogger<ScoreHandler> logger)
        : this(storage, options.CreateBatcher(scorer), scorer, options, logger) { }

    /// <summary>The decoder's error type for the same refusal (Coral.Imaging.ImageTooLargeException), checked from the blob's size here.</summary>
    public const string TooLargeErrorType = "ImageTooLargeException";

    public double Threshold => options.Threshold ?? scorer.RecommendedThreshold ?? Defaults.ScoreThreshold;

    public ScoringBatcher Batcher => batcher;

    private int _recorded;

    /// <summary>Records this handler created (a duplicate that found the record does not count): progress for a local host.</summary>
    public int Recorded => Volatile.Read(ref _recorded);

    /// <summary>Scores the blob's current version (the Functions trigger: no listing). Null when the blob no longer exists.</summary>
    public Task<ScoreResult?> HandleAsync(BlobClient blob, CancellationToken ct) => HandleAsync(blob, null, null, ct);

    /// <summary>
    /// Scores one blob version. With <paramref name="listed"/> only that version is read; null when it is gone (deleted,
    /// or overwritten: the new version has its own ETag and is scored on its own). <paramref name="beforeCommit"/> runs
    /// after scoring and before the record is written (the local host sends the job message there, so a crash in
    /// between re-scores and re-sends instead of losing the job).
    /// </summary>
    public async Task<ScoreResult?> HandleAsync(BlobClient blob, ListedBlob? listed, Func<ScoreResult, CancellationToken, Task>? beforeCommit,
        CancellationToken ct)
    {
        if (listed is not null && listed.Size > options.MaxInputBytes)
            return await CommitAsync(TooLarge(blob, JobIds.NormalizeEtag(listed.ETag.ToString()), listed.Size), beforeCommit, ct);

        BlobDownloadStreamingResult download;
        try
        {
            download = (await blob.DownloadStreamingAsync(new BlobDownloadOptions
            {
                Conditions = listed is null ? null : new BlobRequestConditions { IfMatch = listed.ETag },
            }, ct)).Value;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            logger.LogWarning("Blob {Blob} {What} before scoring; nothing to do", blob.Name, e.Status == 404 ? "vanished" : "was overwritten");
            return null;
        }

        string etag = JobIds.NormalizeEtag(download.Details.ETag.ToString()), jobId = JobIds.Derive(blob.Name, etag);
        long size = download.Details.ContentLength;
        ReadOnlyMemory<byte> bytes = ReadOnlyMemory<byte>.Empty;
        using (download)
        {
            // Disposing the unread body aborts the transfer: an oversized blob is refused without reading it.
            if (size <= options.MaxInputBytes)
            {
                var buffer = new MemoryStream((int)size);
                await download.Content.CopyToAsync(buffer, ct);
                bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
            }
        }
        if (size > options.MaxInputBytes) return await CommitAsync(TooLarge(blob, etag, size), beforeCommit, ct);
        using var scope = logger.BeginScope("JobId={JobId} Blob={Blob}", jobId, blob.Name);

        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
        var source = new SourceBlob(blob.BlobContainerName, blob.Name, etag, sha, bytes.Length);
        ScoreRecord record;
        try
        {
            var score = await batcher.ScoreAsync(scorer.Prepare(bytes, blob.Name, ct), ct);
            bool flagged = score.Signal > Threshold; // strictly above, as Coral.Ml flags
            record = new ScoreRecord
            {
                JobId = jobId,
                Outcome = flagged ? ScoreOutcome.Flagged : ScoreOutcome.Scored,
                Source = source,
                ClassifierVersion = scorer.ModelVersion,
                Threshold = Threshold,
                Score = score,
                ScoredAt = DateTimeOffset.UtcNow,
            };
        }
        catch (ImageRejectedException e)
        {
            logger.LogWarning("Blob {Blob} rejected: {Reason}", blob.Name, e.Reason);
            record = Rejected(source, e.Reason, e.ErrorType);
        }
        return await CommitAsync(record, beforeCommit, ct);
    }

    /// <summary>Records a permanent failure (e.g. after the poison threshold) so the input is accounted for.</summary>
    public Task<ScoreRecord> RecordFailureAsync(string blobName, string etag, string reason, string errorType, CancellationToken ct) =>
        RecordUnreadAsync(blobName, etag, 0, ScoreOutcome.Failed, reason, errorType, ct);

    /// <summary>Records an input rejected without being read (e.g. a name that cannot be addressed), so it is accounted for.</summary>
    public Task<ScoreRecord> RecordRejectedAsync(string blobName, string etag, long size, string reason, string errorType, CancellationToken ct) =>
        RecordUnreadAsync(blobName, etag, size, ScoreOutcome.Rejected, reason, errorType, ct);

    private async Task<ScoreRecord> RecordUnreadAsync(string blobName, string etag, long size, ScoreOutcome outcome, string reason, string errorType,
        CancellationToken ct)
    {
        etag = JobIds.NormalizeEtag(etag);
        var record = new ScoreRecord
        {
            JobId = JobIds.Derive(blobName, etag),
            Outcome = outcome,
            Source = new SourceBlob(storage.Incoming.Name, blobName, etag, "", size),
            Reason = reason,
            ErrorType = errorType,
            ScoredAt = DateTimeOffset.UtcNow,
        };
        return (await CommitAsync(record, null, ct)).Record;
    }

    public async Task<ScoreRecord?> TryReadRecordAsync(string jobId, CancellationToken ct)
    {
        var blob = storage.Scores.GetBlobClient(BlobPaths.ScoreRecord(jobId));
        try
        {
            var content = (await blob.DownloadContentAsync(ct)).Value.Content;
            return PipelineJson.Deserialize<ScoreRecord>(content, $"{blob.BlobContainerName}/{blob.Name}");
        }
        catch (RequestFailedException e) when (e.Status == 404) { return null; }
    }

    private async Task<ScoreResult> CommitAsync(ScoreRecord record, Func<ScoreResult, CancellationToken, Task>? beforeCommit, CancellationToken ct)
    {
        if (beforeCommit is not null) await beforeCommit(Result(record, alreadyScored: false), ct);
        var blob = storage.Scores.GetBlobClient(BlobPaths.ScoreRecord(record.JobId));
        try
        {
            // One PUT is atomic (readers see all of the record or none of it), so no staging copy is needed.
            await blob.UploadAsync(PipelineJson.Serialize(record), new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
            }, ct);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            // A duplicate delivery committed first; its record is the one.
            var winner = await TryReadRecordAsync(record.JobId, ct) ?? record;
            return Result(winner, alreadyScored: true);
        }
        Interlocked.Increment(ref _recorded);
        // Debug: the record itself is the per-blob trail; rejections, failures and queued jobs are logged above Debug.
        logger.LogDebug("Scored {Blob}: {Outcome} (signal {Signal}, threshold {Threshold})",
            record.Source.Name, record.Outcome, record.Score?.Signal, record.Threshold);
        return Result(record, alreadyScored: false);
    }

    private ScoreResult Result(ScoreRecord record, bool alreadyScored) => new(record, record.Flagged
        ? new LongtailJob
        {
            JobId = record.JobId,
            Source = record.Source,
            ClassifierVersion = record.ClassifierVersion ?? scorer.ModelVersion,
            Threshold = record.Threshold ?? Threshold,
            Score = record.Score!,
            ImageCount = options.ImagesPerJob,
        }
        : null, alreadyScored);

    private ScoreRecord TooLarge(BlobClient blob, string etag, long size) =>
        Rejected(new SourceBlob(blob.BlobContainerName, blob.Name, etag, "", size),
            $"blob is {size} bytes, more than the {options.MaxInputBytes}-byte limit", TooLargeErrorType);

    private static ScoreRecord Rejected(SourceBlob source, string reason, string errorType) => new()
    {
        JobId = JobIds.Derive(source.Name, source.ETag),
        Outcome = ScoreOutcome.Rejected,
        Source = source,
        Reason = reason,
        ErrorType = errorType,
        ScoredAt = DateTimeOffset.UtcNow,
    };
}
