using System.Collections.Concurrent;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs;
using Coral.LocalHost.Faults;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;

namespace Coral.LocalHost.Audit;

/// <summary>One broken invariant found by <see cref="PipelineAudit"/>: what (lost, duplicate, ...), which input, why.</summary>
public sealed record AuditProblem(string Kind, string Subject, string Detail);

/// <summary>A poison-queue message as found after a run: the original message's id, its tries, and why it was given up on.</summary>
public sealed record PoisonSummary(string MessageId, long DequeueCount, string Reason);

/// <summary>
/// Reads a finished run back from storage and checks the at-least-once invariants: every incoming blob version
/// has exactly one score record (which is also its receipt); every flagged input has exactly one manifest whose batch is
/// complete (the synthetic images are exactly the manifest's, with matching hashes); nothing is left on the job
/// queue; nothing exists without its input. Used by `coral bench pipeline` and the fault and crash tests.
/// </summary>
public sealed record PipelineAudit(
    int Incoming, IReadOnlyList<ScoreRecord> Records,
    int Manifests, int CompleteBatches, int SyntheticImages, int QueueMessages, IReadOnlyList<PoisonSummary> Poison,
    IReadOnlyList<string> StagingLeftovers, IReadOnlyList<AuditProblem> Problems)
{
    public bool Ok => Problems.Count == 0;
    public int Scored => Records.Count(r => r.Outcome is ScoreOutcome.Scored or ScoreOutcome.Flagged);
    public int Flagged => Records.Count(r => r.Flagged);
    public int Rejected => Records.Count(r => r.Outcome == ScoreOutcome.Rejected);
    public int Failed => Records.Count(r => r.Outcome == ScoreOutcome.Failed);

    /// <summary>Nearest-rank percentile (p in (0, 1]) of a sorted list; zero when empty.</summary>
    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> sorted, double p) =>
        sorted.Count == 0 ? TimeSpan.Zero : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <param name="generatorRan">False when the run had no generator: flagged jobs then wait on the queue by design.</param>
    public static async Task<PipelineAudit> ReadAsync(PipelineStorage s, bool generatorRan, CancellationToken ct)
    {
        var problems = new ConcurrentBag<AuditProblem>();
        var inputNames = new Dictionary<string, string>();
        await foreach (var b in s.Incoming.GetBlobsAsync(BlobTraits.None, BlobStates.None, null, ct))
        {
            if (b.Properties.ETag is not { } etag) continue;
            string jobId = JobIds.Derive(b.Name, etag.ToString());
            inputNames[jobId] = b.Name;
        }

        var recordNames = await NamesAsync(s.Scores, null, ct);
        var records = new ConcurrentBag<ScoreRecord>();
        await Parallel.ForEachAsync(recordNames, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (n, t) =>
        {
            var content = (await s.Scores.GetBlobClient(n).DownloadContentAsync(t)).Value.Content;
            var r = PipelineJson.Deserialize<ScoreRecord>(content, $"{s.Scores.Name}/{n}");
            if (BlobPaths.ScoreRecord(r.JobId) != n) problems.Add(new("misnamed-record", n, $"holds jobId {r.JobId}"));
            records.Add(r);
        });
        var byJob = records.GroupBy(r => r.JobId).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var (jobId, name) in inputNames)
        {
            if (!byJob.TryGetValue(jobId, out var rs)) problems.Add(new("lost", name, "no score record"));
            else if (rs.Count > 1) problems.Add(new("duplicate", name, $"{rs.Count} score records"));
        }
        foreach (var r in records)
        {
            if (!inputNames.ContainsKey(r.JobId)) problems.Add(new("orphan-record", r.Source.Name, $"record {r.JobId} has no incoming blob version"));
            if (r.Outcome is ScoreOutcome.Rejected or ScoreOutcome.Failed && (string.IsNullOrWhiteSpace(r.Reason) || string.IsNullOrWhiteSpace(r.ErrorType)))
                problems.Add(new("no-reason", r.Source.Name, $"{r.Outcome} record without reason or error type"));
            if (r.Outcome is ScoreOutcome.Scored or ScoreOutcome.Flagged && r.Score is null)
                problems.Add(new("no-score", r.Source.Name, $"{r.Outcome} record without scores"));
        }
        foreach (var g in records.GroupBy(r => (r.Source.Name, r.Source.ETag)).Where(g => g.Count() > 1))
            problems.Add(new("duplicate", g.Key.Name, $"{g.Count()} records for one blob version"));

        // Batches: the manifest is the commit point; its images must be exactly what synthetic/<jobId>/ holds.
        var manifestNames = await NamesAsync(s.Manifests, null, ct);
        var jsonManifests = manifestNames.Where(BlobPaths.IsManifest).ToList();
        var syntheticNames = await NamesAsync(s.Synthetic, null, ct);
        var syntheticByJob = syntheticNames.GroupBy(n => n.Split('/')[0]).ToDictionary(g => g.Key, g => g.ToHashSet());
        var flagged = records.Where(r => r.Flagged).Select(r => r.JobId).ToHashSet();
        int complete = 0;
        var manifestJobs = new HashSet<string>();
        foreach (var name in jsonManifests)
        {
            var manifest = PipelineJson.Deserialize<ReviewManifest>((await s.Manifests.GetBlobClient(name).DownloadContentAsync(ct)).Value.Content, name);
            manifestJobs.Add(manifest.JobId);
            if (BlobPaths.Manifest(manifest.JobId) != name) problems.Add(new("misnamed-manifest", name, $"holds jobId {manifest.JobId}"));
            if (!flagged.Contains(manifest.JobId)) problems.Add(new("orphan-manifest", name, "no flagged score record for this job"));
            if (manifest.ReviewPage is not { } page || !manifestNames.Contains(page)) problems.Add(new("no-review-page", name, $"{manifest.ReviewPage} missing"));
            var have = syntheticByJob.GetValueOrDefault(manifest.JobId) ?? [];
            var want = manifest.Images.Select(i => i.Path).ToHashSet();
            bool ok = manifest.Images.Count > 0 && have.SetEquals(want);
            if (!ok) problems.Add(new("incomplete-batch", manifest.JobId, $"manifest lists {want.Count} images, synthetic/ holds {have.Count}"));
            foreach (var img in manifest.Images.Where(i => have.Contains(i.Path)))
            {
                var bytes = (await s.Synthetic.GetBlobClient(img.Path).DownloadContentAsync(ct)).Value.Content.ToArray();
                if (GenerateHandler.Sha256(bytes) != img.Sha256) { ok = false; problems.Add(new("corrupt-image", img.Path, "sha256 differs from the manifest")); }
            }
            if (ok) complete++;
        }
        foreach (var job in syntheticByJob.Keys.Where(j => !manifestJobs.Contains(j)))
            problems.Add(new("uncommitted-batch", job, $"synthetic/{job}/ holds {syntheticByJob[job].Count} images but there is no manifest"));

        var props = (await s.Jobs.GetPropertiesAsync(ct)).Value;
        int queued = props.ApproximateMessagesCount;
        if (generatorRan)
        {
            foreach (var job in flagged.Where(j => !manifestJobs.Contains(j)))
                problems.Add(new("no-batch", inputNames.GetValueOrDefault(job, job), $"flagged job {job} has no manifest"));
            if (queued != 0) problems.Add(new("stuck", s.Jobs.Name, $"{queued} messages still on the job queue"));
        }
        else if (queued != flagged.Count)
            problems.Add(new("queue-mismatch", s.Jobs.Name, $"{queued} messages waiting for {flagged.Count} flagged inputs (no generator ran)"));

        var poison = new List<PoisonSummary>();
        foreach (var m in (await s.JobsPoison.PeekMessagesAsync(32, ct)).Value)
        {
            try
            {
                var env = PipelineJson.Deserialize<PoisonEnvelope>(BinaryData.FromString(m.MessageText), $"poison message {m.MessageId}");
                poison.Add(new PoisonSummary(env.MessageId, env.DequeueCount, env.Reason));
            }
            catch (PipelineDataException) { poison.Add(new PoisonSummary(m.MessageId, 0, m.MessageText)); } // the Functions host's raw format
        }
        var leftovers = (await NamesAsync(s.Staging, null, ct)).Where(n => !n.StartsWith(BlobPaths.LocksPrefix, StringComparison.Ordinal) && !n.StartsWith(BlobPaths.PoisonEnvelopesPrefix, StringComparison.Ordinal)).ToList();

        return new PipelineAudit(inputNames.Count, records.OrderBy(r => r.Source.Name, StringComparer.Ordinal).ToList(),
            jsonManifests.Count, complete, syntheticNames.Count, queued, poison, leftovers,
            problems.OrderBy(p => p.Kind).ThenBy(p => p.Subject, StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// Matches the hostile set to its records: one row per hostile blob with the error type and reason it got.
    /// Names are looked up as storage stored them (dot segments and backslashes are normalised by the URL).
    /// </summary>
    public IReadOnlyList<HostileCheck> CheckHostile(BlobContainerClient incoming, IEnumerable<HostileBlob> hostile)
    {
        var byName = Records.GroupBy(r => r.Source.Name).ToDictionary(g => g.Key, g => g.ToList());
        var rows = new List<HostileCheck>();
        foreach (var h in hostile)
        {
            string stored = StoredName(incoming, h.Name);
            // Some stores turn "\\" into "/" (Azurite); look the blob up under either spelling.
            var rs = byName.GetValueOrDefault(stored) ?? byName.GetValueOrDefault(stored.Replace('\\', '/')) ?? [];
            if (rs.Count > 0) stored = rs[0].Source.Name;
            var r = rs.Count == 1 ? rs[0] : null;
            bool ok = r is { Outcome: ScoreOutcome.Rejected } && r.ErrorType == h.ExpectedError
                && (r.Reason ?? "").Contains(h.ReasonFragment, StringComparison.OrdinalIgnoreCase);
            rows.Add(new HostileCheck(h.Name, stored, h.Kind, h.ExpectedError, rs.Count, r?.Outcome, r?.ErrorType, r?.Reason, ok));
        }
        return rows;
    }

    /// <summary>The name a blob ends up with once its URL is built and normalised (what a listing shows).</summary>
    public static string StoredName(BlobContainerClient container, string name) => new BlobUriBuilder(container.GetBlobClient(name).Uri).BlobName;

    private static async Task<List<string>> NamesAsync(BlobContainerClient c, string? prefix, CancellationToken ct)
    {
        var names = new List<string>();
        await foreach (var b in c.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, ct)) names.Add(b.Name);
        return names;
    }
}

/// <summary>One hostile blob after a run: exactly one record (<see cref="Records"/> = 1), rejected with the expected type.</summary>
public sealed record HostileCheck(string Name, string StoredName, string Kind, string ExpectedError, int Records, ScoreOutcome? Outcome,
    string? ErrorType, string? Reason, bool Ok);
