using Azure.Storage.Blobs.Models;
using Azure;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Storage;

namespace Coral.Pipeline.Review;

/// <summary>The job or image a reviewer named does not exist.</summary>
public sealed class ReviewTargetException(string message) : Exception(message), ICoralInputError;

/// <summary>
/// What a reviewer says the images (and the source) are. A flagged image's class is unknown, and the classifier's guess
/// is wrong precisely there: only these reviewer-confirmed labels decide where an approved image goes in curated/.
/// </summary>
public sealed record ClassLabels
{
    /// <summary>Every image approved in this call is of this class.</summary>
    public string? All { get; init; }
    /// <summary>Image index → class, overriding <see cref="All"/> for those images.</summary>
    public IReadOnlyDictionary<int, string> PerImage { get; init; } = new Dictionary<int, string>();
    /// <summary>The reviewer confirms each image's target class as the generator shows it.</summary>
    public bool ConfirmTargets { get; init; }
    /// <summary>The source image's class, when the reviewer says.</summary>
    public string? Source { get; init; }

    public static readonly ClassLabels None = new();
}

/// <summary>Summary line per batch for `coral review list`.</summary>
public sealed record ManifestSummary(string JobId, string SourceName, string PredictedLabel, double Signal, int Images,
    int Pending, int Approved, int Rejected, int Inconsistent, DateTimeOffset CreatedAt)
{
    /// <summary>Every image is inconsistent with its target class: not worth a reviewer's approval.</summary>
    public bool AllInconsistent => Images > 0 && Inconsistent == Images;
}

/// <summary>
/// Reviewer actions on manifests. Updates are read-modify-write with If-Match on the manifest's ETag, retried
/// on conflict, so two reviewers never lose each other's update. Approving needs a reviewer-confirmed class per image
/// (<see cref="ClassLabels"/>); approved images are copied to curated/{confirmed class}/{jobId}-{n}.png (where the next
/// classifier training reads them); a later rejection, or a corrected class, moves or removes the copy.
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

    /// <summary>
    /// Copies curated/ into a local folder with one sub-folder per class (curated/'s own class folders), for training:
    /// `coral train classifier --add-images DIR`. Files already there with the same size are kept; returns images per class folder.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, int>> PullCuratedAsync(string directory, CancellationToken ct)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        string root = Path.GetFullPath(directory);
        // A pipeline that has approved nothing yet may not have the container at all: that is "nothing approved", not an error.
        if (!(await storage.Curated.ExistsAsync(ct)).Value) return counts;
        await foreach (var item in storage.Curated.GetBlobsAsync(cancellationToken: ct))
        {
            var parts = item.Name.Split('/');
            // Only what the review flow writes: {class folder}/{jobId}-{index}.png, never a path that leaves the folder.
            if (parts.Length != 2 || parts.Any(p => p is "" or "." or ".." || p.Contains('\\')) || !parts[1].EndsWith(".png", StringComparison.Ordinal)) continue;
            string target = Path.GetFullPath(Path.Combine(root, parts[0], parts[1]));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (!(File.Exists(target) && new FileInfo(target).Length == item.Properties.ContentLength))
            {
                string temp = target + ".part";
                await storage.Curated.GetBlobClient(item.Name).DownloadToAsync(temp, ct);
                File.Move(temp, target, overwrite: true);
            }
            counts[parts[0]] = counts.GetValueOrDefault(parts[0]) + 1;
        }
        return counts;
    }

    public async Task<(ReviewManifest Manifest, ETag ETag)> ReadAsync(string jobId, CancellationToken ct)
    {
        // Checked before it touches storage: a job id is a path segment ("../scores/x" would read another container).
        if (!JobIds.IsValid(jobId)) throw new ReviewTargetException($"'{jobId}' is not a job id (lower-case letters, digits and '-', as `coral review list` prints them)");
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

    /// <summary>
    /// Sets the status of the given images (all if <paramref name="indices"/> is empty). Approving needs a confirmed
    /// class for every image it touches, from <paramref name="labels"/>; class names must be the classifier's.
    /// </summary>
    public async Task<ReviewManifest> SetStatusAsync(string jobId, IReadOnlyCollection<int> indices, ReviewStatus status, string reviewer,
        CancellationToken ct, ClassLabels? labels = null)
    {
        if (status == ReviewStatus.Pending) throw new ArgumentException("a review sets approved or rejected", nameof(status));
        labels ??= ClassLabels.None;
        for (int attempt = 1; ; attempt++)
        {
            var (m, etag) = await ReadAsync(jobId, ct);
            var unknown = indices.Concat(labels.PerImage.Keys).Distinct().Where(i => m.Images.All(img => img.Index != i)).ToList();
            if (unknown.Count > 0)
                throw new ReviewTargetException($"job '{jobId}' has no image {string.Join(", ", unknown)} (it has 0..{m.Images.Count - 1})");
            var outside = labels.PerImage.Keys.Where(i => indices.Count > 0 && !indices.Contains(i)).ToList();
            if (outside.Count > 0)
                throw new ReviewTargetException($"job '{jobId}': a class is given for image {string.Join(", ", outside)}, which this review does not include");
            var names = m.Classifier.Scores.ClassNames;
            var now = DateTimeOffset.UtcNow;
            if (labels.Source is { } src) m.SourceConfirmedClass = Canonical(src, names, jobId);
            foreach (var img in m.Images.Where(i => indices.Count == 0 || indices.Contains(i.Index)))
            {
                if (labels.PerImage.TryGetValue(img.Index, out var own)) img.ConfirmedClass = Canonical(own, names, jobId);
                else if (labels.All is { } all) img.ConfirmedClass = Canonical(all, names, jobId);
                else if (labels.ConfirmTargets) img.ConfirmedClass = img.ClassName;
                if (status == ReviewStatus.Approved && img.ConfirmedClass is null)
                    throw new ReviewTargetException($"job '{jobId}' image {img.Index} has no reviewer-confirmed class: give --class NAME, " +
                        $"--set {img.Index}=NAME or --confirm-targets (its target is '{img.ClassName}')");
                img.Status = status;
                img.ReviewedBy = reviewer;
                img.ReviewedAt = now;
                img.CuratedPath = status == ReviewStatus.Approved ? BlobPaths.CuratedImage(img.ConfirmedClass!, m.JobId, img.Index) : null;
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

    /// <summary>
    /// One pass over the images; false if a copy's target was deleted under it (a concurrent rejection). An image lives in
    /// curated/ under its recorded curated path only: copies under any other class (a corrected label) are removed.
    /// </summary>
    private async Task<bool> SyncOnceAsync(ReviewManifest m, CancellationToken ct)
    {
        bool complete = true;
        foreach (var img in m.Images)
        {
            string? keep = img.Status == ReviewStatus.Approved ? img.CuratedPath ?? BlobPaths.CuratedImage(img.ClassName, m.JobId, img.Index) : null;
            foreach (var other in m.Classifier.Scores.ClassNames.Append(img.ClassName).Select(c => BlobPaths.CuratedImage(c, m.JobId, img.Index)).Distinct())
                if (other != keep) await storage.Curated.GetBlobClient(other).DeleteIfExistsAsync(cancellationToken: ct);
            if (keep is not null)
            {
                var target = storage.Curated.GetBlobClient(keep);
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
        }
        return complete;
    }

    /// <summary>The classifier's own spelling of a class the reviewer named (case-insensitive), or an error listing the classes.</summary>
    private static string Canonical(string name, IReadOnlyList<string> classes, string jobId) =>
        classes.FirstOrDefault(c => string.Equals(c, name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ReviewTargetException($"'{name}' is not a class of job '{jobId}' (classes: {string.Join(", ", classes)})");

}
