using System.Security.Cryptography;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Blobs;
using Azure;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Introspection;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Names;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Logging;

namespace Coral.Pipeline.Generation;

public enum GenerateOutcome { Generated, AlreadyDone, Poisoned }

/// <summary>Bound from the <c>Coral</c> section.</summary>
public sealed record GenerationOptions
{
    /// <summary>The job lease (15..60 s): how soon a dead worker's job can be taken over.</summary>
    public int JobLeaseSeconds { get; init; } = Defaults.JobLeaseSeconds;
}

/// <summary>
/// Runs one `longtail-jobs` message: LTG batch → synthetic/{jobId}/{n}.png, manifests/{jobId}.html and
/// manifests/{jobId}.json. The manifest is written last with If-None-Match: * and is the commit point:
/// a batch without a manifest is incomplete and invisible to review. A blob lease per job keeps duplicate
/// deliveries from generating the same job concurrently; a crashed holder's lease simply expires.
/// Optional introspection (off unless an introspector is given) runs between generation and the commit; its
/// failures are recorded in the manifest and never hold the batch back.
/// </summary>
public sealed class GenerateHandler(PipelineStorage storage, ILongtailBatchGenerator generator, ILogger<GenerateHandler> logger,
    TimeSpan? leaseDuration = null, ILongtailIntrospector? introspector = null)
{
    private readonly AtomicBlobWriter _writer = new(storage);
    private readonly ILongtailIntrospector _introspector = introspector ?? NoIntrospection.Instance;

    /// <summary>15..60 s (the blob lease limits); renewed while the job runs, expires if the worker dies.</summary>
    public TimeSpan LeaseDuration { get; } = leaseDuration ?? TimeSpan.FromSeconds(Defaults.JobLeaseSeconds);

    /// <summary>Parses a queue message; an unreadable one is permanent (poisoned with the reason).</summary>
    public static LongtailJob ParseMessage(string text, string messageId)
    {
        LongtailJob job;
        try { job = PipelineJson.Deserialize<LongtailJob>(BinaryData.FromString(text), $"message {messageId}"); }
        catch (PipelineDataException e) { throw new PermanentJobException("?", e.Message, e); }
        if (!JobIds.IsValid(job.JobId)) throw new PermanentJobException(job.JobId, $"message {messageId} has an invalid jobId");
        if (job.ImageCount is < 1 or > 256) throw new PermanentJobException(job.JobId, $"imageCount {job.ImageCount} is outside 1..256");
        return job;
    }

    /// <summary>
    /// Entry point for a queue message (Functions and `coral serve` alike). A permanent failure goes straight
    /// to the poison queue with its reason instead of burning the remaining tries; anything else throws so
    /// the host retries (and poisons after maxDequeueCount).
    /// </summary>
    public async Task<GenerateOutcome> HandleMessageAsync(string messageText, string messageId, long dequeueCount, CancellationToken ct)
    {
        try
        {
            var job = ParseMessage(messageText, messageId);
            return await HandleAsync(job, ct);
        }
        catch (PermanentJobException e)
        {
            var envelope = new PoisonEnvelope(messageText, messageId, dequeueCount, "permanent failure: " + e.Message,
                storage.Jobs.Name, DateTimeOffset.UtcNow);
            await storage.JobsPoison.SendMessageAsync(PipelineJson.Serialize(envelope).ToString(), ct);
            logger.LogError("Message {MessageId} ({JobId}) moved to {Poison}: {Reason}", messageId, e.JobId, storage.JobsPoison.Name, e.Message);
            return GenerateOutcome.Poisoned;
        }
    }

    public async Task<GenerateOutcome> HandleAsync(LongtailJob job, CancellationToken ct)
    {
        using var scope = logger.BeginScope("JobId={JobId}", job.JobId);
        var manifestBlob = storage.Manifests.GetBlobClient(BlobPaths.Manifest(job.JobId));
        if (await manifestBlob.ExistsAsync(ct))
        {
            logger.LogInformation("Job {JobId} already has a manifest: duplicate delivery, nothing to do", job.JobId);
            return GenerateOutcome.AlreadyDone;
        }

        await using var lease = await JobLease.AcquireAsync(storage, job.JobId, LeaseDuration, ct);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
        var jt = linked.Token;
        // Re-check under the lease: the previous holder may have committed just before releasing.
        if (await manifestBlob.ExistsAsync(jt)) return GenerateOutcome.AlreadyDone;

        var source = storage.Blobs.GetBlobContainerClient(job.Source.Container).GetBlobClient(job.Source.Name);
        byte[] sourceBytes;
        try
        {
            var download = await source.DownloadContentAsync(new BlobDownloadOptions
            {
                Conditions = new BlobRequestConditions { IfMatch = new ETag("\"" + job.Source.ETag + "\"") },
            }, jt);
            sourceBytes = download.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            throw new PermanentJobException(job.JobId,
                $"source {job.Source.Container}/{job.Source.Name} version {job.Source.ETag} is gone ({(e.Status == 404 ? "deleted" : "overwritten")})", e);
        }
        if (job.Source.Sha256.Length > 0 && Sha256(sourceBytes) != job.Source.Sha256)
            throw new PermanentJobException(job.JobId, $"source {job.Source.Name} sha256 differs from the scored one");

        var started = DateTimeOffset.UtcNow;
        logger.LogInformation("Generating {Count} images for job {JobId} from {Blob}", job.ImageCount, job.JobId, job.Source.Name);
        var batch = await generator.GenerateAsync(job, sourceBytes, jt);
        var generated = batch.Images;
        if (generated.Count == 0) throw new InvalidOperationException($"generator returned no images for job {job.JobId}");
        var introspection = await IntrospectAsync(job, sourceBytes, generated, jt);

        // Stage every image first, then copy them to their final names: nothing under synthetic/ is half-written.
        var staged = new List<BlobClient>();
        var images = new List<ManifestImage>();
        var pngs = new Dictionary<int, byte[]>();
        try
        {
            for (int i = 0; i < generated.Count; i++)
            {
                var g = generated[i];
                var path = BlobPaths.SyntheticImage(job.JobId, i);
                staged.Add(await _writer.StageAsync(storage.Synthetic.Name, path, BinaryData.FromBytes(g.Png), "image/png", jt));
                pngs[i] = g.Png;
                images.Add(new ManifestImage
                {
                    Index = i, Path = path, Sha256 = Sha256(g.Png), Seed = g.Seed,
                    SignalBefore = g.SignalBefore, SignalAfter = g.SignalAfter,
                    ClassIndex = g.ClassIndex, ClassName = g.ClassName, ClassProbabilities = g.ClassProbabilities,
                    Consistent = g.Consistent, Evidence = g.Evidence,
                });
            }
            for (int i = 0; i < staged.Count; i++)
                await AtomicBlobWriter.CommitStagedAsync(staged[i], storage.Synthetic.GetBlobClient(images[i].Path), createOnly: false, jt);

            var now = DateTimeOffset.UtcNow;
            var manifest = new ReviewManifest
            {
                JobId = job.JobId,
                Source = job.Source,
                Classifier = new ClassifierInfo(job.ClassifierVersion, job.Threshold, job.Score),
                Diffusion = new DiffusionInfo(generator.DiffusionModel, generator.Parameters),
                Images = images,
                DroppedCandidates = batch.Dropped.Count == 0 ? null : batch.Dropped,
                ReviewPage = BlobPaths.ReviewPage(job.JobId),
                Introspection = introspection,
                CreatedAt = now,
                UpdatedAt = now,
            };
            await _writer.CommitAsync(storage.Manifests, BlobPaths.ReviewPage(job.JobId),
                BinaryData.FromString(ReviewPage.Render(manifest, sourceBytes, pngs)), "text/html; charset=utf-8", createOnly: false, jt);
            bool committed = await _writer.CommitAsync(storage.Manifests, BlobPaths.Manifest(job.JobId), PipelineJson.Serialize(manifest),
                "application/json", createOnly: true, jt);
            logger.LogInformation("Job {JobId}: {Count} images committed in {Seconds:F1} s{Note}", job.JobId, images.Count,
                (DateTimeOffset.UtcNow - started).TotalSeconds, committed ? "" : " (manifest already existed)");
            return committed ? GenerateOutcome.Generated : GenerateOutcome.AlreadyDone;
        }
        finally
        {
            foreach (var s in staged) await AtomicBlobWriter.DeleteQuietlyAsync(s);
        }
    }

    /// <summary>The introspector's record; an introspector that throws anyway is recorded as failed. Only the job's own cancellation stops the batch.</summary>
    private async Task<ManifestIntrospection?> IntrospectAsync(LongtailJob job, byte[] sourceBytes, IReadOnlyList<GeneratedImage> generated, CancellationToken ct)
    {
        try
        {
            return await _introspector.DescribeAsync(new IntrospectionRequest(job, sourceBytes, generated), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Job {JobId}: introspection failed; committing the batch without a description", job.JobId);
            return new ManifestIntrospection
            {
                Status = IntrospectionStatus.Failed,
                Error = $"{e.GetType().Name}: {e.Message}", Attempts = 0, Seconds = 0, At = DateTimeOffset.UtcNow,
            };
        }
    }

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}

/// <summary>A renewed blob lease on staging/locks/{jobId}: one generator per job at a time.</summary>
internal sealed class JobLease : IAsyncDisposable
{
    private readonly BlobLeaseClient _lease;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _renewal;

    private JobLease(BlobLeaseClient lease, TimeSpan duration)
    {
        _lease = lease;
        _renewal = RenewAsync(duration / 3);
    }

    /// <summary>Cancelled if the lease could not be renewed: stop writing, another worker may own the job now.</summary>
    public CancellationToken Lost => _lost.Token;

    public static async Task<JobLease> AcquireAsync(PipelineStorage storage, string jobId, TimeSpan duration, CancellationToken ct)
    {
        var blob = storage.Staging.GetBlobClient(BlobPaths.JobLock(jobId));
        try { await blob.UploadAsync(BinaryData.FromString(jobId), new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, ct); }
        catch (RequestFailedException e) when (e.Status is 409 or 412) { /* lock blob exists already */ }
        var lease = blob.GetBlobLeaseClient();
        try { await lease.AcquireAsync(duration, cancellationToken: ct); }
        catch (RequestFailedException e) when (e.Status == 409) { throw new JobBusyException(jobId); }
        return new JobLease(lease, duration);
    }

    private async Task RenewAsync(TimeSpan every)
    {
        try
        {
            while (true)
            {
                await Task.Delay(every, _stop.Token);
                try { await _lease.RenewAsync(cancellationToken: _stop.Token); }
                catch (RequestFailedException) { _lost.Cancel(); return; }
            }
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _renewal;
        try { await _lease.ReleaseAsync(); } catch (RequestFailedException) { }
        _stop.Dispose();
        _lost.Dispose();
    }
}
