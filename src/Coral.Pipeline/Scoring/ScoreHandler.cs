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

/// <summary>Bound from the <c>Coral</c> section (<c>Coral__ScoreThreshold</c>, <c>Coral__ImagesPerJob</c>).</summary>
public sealed record ScoringOptions
{
    /// <summary>Null: the model's recommended threshold, else <see cref="Defaults.ScoreThreshold"/>.</summary>
    [ConfigurationKeyName("ScoreThreshold")] // the setting's name; the property keeps the handler's word
    public double? Threshold { get; init; }
    public int ImagesPerJob { get; init; } = Defaults.ImagesPerJob;
    public long MaxInputBytes { get; init; } = Defaults.MaxInputBytes;
}

/// <summary>What one scoring run produced: the record, and the job message for a flagged image.</summary>
public sealed record ScoreResult(ScoreRecord Record, LongtailJob? Job, bool AlreadyScored)
{
    /// <summary>The queue message text (JSON) for `longtail-jobs`, or null if the image was not flagged.</summary>
    public string? JobMessage => Job is null ? null : PipelineJson.Serialize(Job).ToString();
}

/// <summary>
/// Scores one incoming blob version and writes scores/{jobId}.json exactly once. Safe under at-least-once
/// delivery: a duplicate delivery finds the committed record and returns it (re-emitting the job message,
/// because the first delivery may have died before its message was sent; the generator dedupes).
/// </summary>
public sealed class ScoreHandler(PipelineStorage storage, IImageScorer scorer, ScoringOptions options, ILogger<ScoreHandler> logger)
{
    private readonly AtomicBlobWriter _writer = new(storage);

    /// <summary>The decoder's error type for the same refusal (Coral.Imaging.ImageTooLargeException), checked from the blob's size here.</summary>
    public const string TooLargeErrorType = "ImageTooLargeException";

    public double Threshold => options.Threshold ?? scorer.RecommendedThreshold ?? Defaults.ScoreThreshold;

    /// <summary>Returns null when the blob no longer exists (deleted before we got to it).</summary>
    public async Task<ScoreResult?> HandleAsync(BlobClient blob, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            BlobProperties props;
            try { props = (await blob.GetPropertiesAsync(cancellationToken: ct)).Value; }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                logger.LogWarning("Blob {Blob} vanished before scoring; nothing to do", blob.Name);
                return null;
            }
            string etag = JobIds.NormalizeEtag(props.ETag.ToString());
            string jobId = JobIds.Derive(blob.Name, etag);
            using var scope = logger.BeginScope("JobId={JobId} Blob={Blob}", jobId, blob.Name);

            var existing = await TryReadRecordAsync(jobId, ct);
            if (existing is not null)
            {
                logger.LogInformation("Blob {Blob} ({ETag}) already scored as {Outcome}: duplicate delivery", blob.Name, etag, existing.Outcome);
                return Result(existing, alreadyScored: true);
            }

            if (props.ContentLength > options.MaxInputBytes)
                return await CommitAsync(Rejected(blob, etag, jobId, "", props.ContentLength,
                    $"blob is {props.ContentLength} bytes, more than the {options.MaxInputBytes}-byte limit",
                    TooLargeErrorType), ct);

            BinaryData content;
            try
            {
                var download = await blob.DownloadContentAsync(new BlobDownloadOptions
                {
                    Conditions = new BlobRequestConditions { IfMatch = props.ETag },
                }, ct);
                content = download.Value.Content;
            }
            catch (RequestFailedException e) when ((e.Status == 412 || e.Status == 404) && attempt < 3)
            {
                continue; // overwritten or deleted between our two calls: look again
            }

            var bytes = content.ToMemory();
            string sha = Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
            var source = new SourceBlob(blob.BlobContainerName, blob.Name, etag, sha, bytes.Length);
            ScoreRecord record;
            try
            {
                var score = scorer.Score(bytes, blob.Name, ct);
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
                record = Rejected(blob, etag, jobId, sha, bytes.Length, e.Reason, e.ErrorType);
            }
            return await CommitAsync(record, ct);
        }
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
        return (await CommitAsync(record, ct)).Record;
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

    private async Task<ScoreResult> CommitAsync(ScoreRecord record, CancellationToken ct)
    {
        bool created = await _writer.CommitAsync(storage.Scores, BlobPaths.ScoreRecord(record.JobId), PipelineJson.Serialize(record),
            "application/json", createOnly: true, ct);
        if (!created)
        {
            // A concurrent duplicate committed first; its record is the one.
            var winner = await TryReadRecordAsync(record.JobId, ct) ?? record;
            return Result(winner, alreadyScored: true);
        }
        logger.LogInformation("Scored {Blob}: {Outcome} (signal {Signal}, threshold {Threshold})",
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

    private static ScoreRecord Rejected(BlobClient blob, string etag, string jobId, string sha, long size, string reason, string errorType) => new()
    {
        JobId = jobId,
        Outcome = ScoreOutcome.Rejected,
        Source = new SourceBlob(blob.BlobContainerName, blob.Name, etag, sha, size),
        Reason = reason,
        ErrorType = errorType,
        ScoredAt = DateTimeOffset.UtcNow,
    };
}
