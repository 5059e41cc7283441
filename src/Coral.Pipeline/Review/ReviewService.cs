using Azure.Storage.Blobs.Models;
using Azure;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Storage;

namespace Coral.Pipeline.Review;

/// <summary>The job or image a reviewer named does not exist.</summary>
public sealed class ReviewTargetException(string message) : Exception(message), ICoralInputError;

/// <summary>Summary line per batch for `coral review list`.</summary>
public sealed record ManifestSummary(string JobId, string SourceName, string PredictedLabel, double Signal, int Images,
    int Pending, int Approved, int Rejected, int Inconsistent, DateTimeOffset CreatedAt);

/// <summary>
/// Reviewer actions on manifests. Updates are read-modify-write with If-Match on the manifest's ETag, retried
/// on conflict, so two reviewers never lose each other's update. Approved images are copied to
/// curated/{class}/{jobId}-{n}.png (where the next classifier training reads them); a later rejection
/// removes the copy again.
/// </summary>
public sealed class ReviewService(PipelineStorage storage)
{
    public async Task<IReadOnlyList<ManifestSummary>> ListAsync(CancellationToken ct)
    {
        var list = new List<ManifestSummary>();
        await foreach (var item in storage.Manifests.GetBlobsAsync(cancellationToken: ct))
        {
            if (!BlobPaths.IsManifest(item.Name)) continue;
            var (m, _) = await ReadAsync(item.Name[..^5], ct);
            list.Add(new ManifestSummary(m.JobId, m.Source.Name, m.Classifier.Scores.PredictedLabel, m.Classifier.Scores.Signal, m.Images.Count,
                m.Images.Count(i => i.Status == ReviewStatus.Pending), m.Images.Count(i => i.Status == ReviewStatus.Approved),
                m.Images.Count(i => i.Status == ReviewStatus.Rejected), m.Images.Count(i => !i.Consistent), m.CreatedAt));
        }
        return list.OrderBy(s => s.CreatedAt).ToList();
    }

    public async Task<(ReviewManifest Manifest, ETag ETag)> ReadAsync(string jobId, CancellationToken ct)
    {
        var blob = storage.Manifests.GetBlobClient(BlobPaths.Manifest(jobId));
        try
        {
            var r = await blob.DownloadContentAsync(ct);
            return (PipelineJson.Deserialize<ReviewManifest>(r.Value.Content, $"{blob.BlobContainerName}/{blob.Name}"), r.Value.Details.ETag);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new ReviewTargetException($"no manifest for job '{jobId}' in {blob.BlobContainerName}/");
        }
    }

    /// <summary>Sets the status of the given images (all if <paramref name="indices"/> is empty).</summary>
    public async Task<ReviewManifest> SetStatusAsync(string jobId, IReadOnlyCollection<int> indices, ReviewStatus status, string reviewer,
        CancellationToken ct)
    {
        if (status == ReviewStatus.Pending) throw new ArgumentException("a review sets approved or rejected", nameof(status));
        for (int attempt = 1; ; attempt++)
        {
            var (m, etag) = await ReadAsync(jobId, ct);
            var unknown = indices.Where(i => m.Images.All(img => img.Index != i)).ToList();
            if (unknown.Count > 0)
                throw new ReviewTargetException($"job '{jobId}' has no image {string.Join(", ", unknown)} (it has 0..{m.Images.Count - 1})");
            var now = DateTimeOffset.UtcNow;
            foreach (var img in m.Images.Where(i => indices.Count == 0 || indices.Contains(i.Index)))
            {
                img.Status = status;
                img.ReviewedBy = reviewer;
                img.ReviewedAt = now;
                img.CuratedPath = status == ReviewStatus.Approved ? BlobPaths.CuratedImage(img.ClassName, m.JobId, img.Index) : null;
            }
            m.UpdatedAt = now;
            try
            {
                await storage.Manifests.GetBlobClient(BlobPaths.Manifest(jobId)).UploadAsync(PipelineJson.Serialize(m),
                    new BlobUploadOptions
                    {
                        Conditions = new BlobRequestConditions { IfMatch = etag },
                        HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
                    }, ct);
            }
            catch (RequestFailedException e) when (e.Status == 412 && attempt < 20)
            {
                continue; // another reviewer wrote in between: re-read, re-apply ours on top of theirs
            }
            await SyncCuratedAsync(m, ct);
            await RefreshPageAsync(m, ct);
            return m;
        }
    }

    /// <summary>
    /// Re-renders the batch's review page so it shows the review state. Best effort: the manifest is the record;
    /// a page whose source version is gone, or that lost a race with another reviewer's rendering, lags behind.
    /// </summary>
    public async Task RefreshPageAsync(ReviewManifest m, CancellationToken ct)
    {
        byte[] source;
        try
        {
            var src = storage.Blobs.GetBlobContainerClient(m.Source.Container).GetBlobClient(m.Source.Name);
            source = (await src.DownloadContentAsync(new BlobDownloadOptions
            {
                Conditions = new BlobRequestConditions { IfMatch = new ETag("\"" + m.Source.ETag + "\"") },
            }, ct)).Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412) { return; }
        var images = new Dictionary<int, byte[]>();
        foreach (var img in m.Images)
            images[img.Index] = (await storage.Synthetic.GetBlobClient(img.Path).DownloadContentAsync(ct)).Value.Content.ToArray();
        try
        {
            await new AtomicBlobWriter(storage).CommitAsync(storage.Manifests, BlobPaths.ReviewPage(m.JobId),
                BinaryData.FromString(ReviewPage.Render(m, source, images)), "text/html; charset=utf-8", createOnly: false, ct);
        }
        catch (Exception e) when (e is IOException or RequestFailedException)
        {
            // Concurrent reviewers re-render at once; a page may lag one review behind the manifest, never the reverse.
        }
    }

    /// <summary>
    /// Makes curated/ match the job's latest manifest (idempotent: safe to re-run after a crash).
    /// Concurrent reviewers' syncs can interleave, and one acting on an older state could undo a newer one (delete
    /// a fresh approval, copy a fresh rejection). So each sync works from the latest manifest and repeats until the
    /// manifest did not change while it ran: whoever syncs last acts on the final state.
    /// </summary>
    public async Task SyncCuratedAsync(ReviewManifest m, CancellationToken ct)
    {
        const int maxRounds = 20; // each extra round needs another reviewer's write in between: bounded by them
        for (int round = 1; ; round++)
        {
            var (latest, etag) = await ReadAsync(m.JobId, ct);
            bool complete = await SyncOnceAsync(latest, ct);
            var after = (await storage.Manifests.GetBlobClient(BlobPaths.Manifest(m.JobId)).GetPropertiesAsync(cancellationToken: ct)).Value.ETag;
            if (complete && after == etag) return;
            if (round == maxRounds)
                throw new IOException($"curated/ for job '{m.JobId}' did not settle after {maxRounds} rounds of concurrent reviews; run the review again");
        }
    }

    /// <summary>One pass over the images; false if a copy's target was deleted under it (a concurrent rejection).</summary>
    private async Task<bool> SyncOnceAsync(ReviewManifest m, CancellationToken ct)
    {
        bool complete = true;
        foreach (var img in m.Images)
        {
            var target = storage.Curated.GetBlobClient(BlobPaths.CuratedImage(img.ClassName, m.JobId, img.Index));
            if (img.Status == ReviewStatus.Approved)
            {
                if (await target.ExistsAsync(ct)) continue;
                // Create-only: concurrent reviewers syncing the same image make one copy.
                try { await AtomicBlobWriter.CommitStagedAsync(storage.Synthetic.GetBlobClient(img.Path), target, createOnly: true, ct); }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    var source = storage.Synthetic.GetBlobClient(img.Path);
                    if (!await source.ExistsAsync(ct))
                        throw new ReviewTargetException($"job '{m.JobId}' image {img.Index}: {source.BlobContainerName}/{img.Path} no longer exists, so it cannot be curated");
                    complete = false;
                }
            }
            else
            {
                await target.DeleteIfExistsAsync(cancellationToken: ct);
            }
        }
        return complete;
    }

}
