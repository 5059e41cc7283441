using Azure.Storage.Blobs.Models;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;

namespace Coral.LocalHost.Audit;

/// <summary>What a run produced, read back from storage (not from in-memory counters, so it survives restarts).</summary>
public sealed record PipelineSummary(int Incoming, int Scored, int Flagged, int Rejected, int Failed, int Batches, int SyntheticImages,
    int ConsistentImages, TimeSpan ScoringSpan, TimeSpan GenerationSpan, IReadOnlyList<string> ReviewPages,
    TimeSpan UploadToScoreP50, TimeSpan UploadToScoreP95)
{
    /// <summary>Scored inputs that had to be converted to fit the classifier, and those that look unlike its training data.</summary>
    public int Converted { get; init; }
    public int OutOfDomain { get; init; }

    /// <param name="hostStarted">When the host started: a blob waiting before then counts from then, so the figure measures
    /// the pipeline, not how long the files sat in storage before it ran.</param>
    public static async Task<PipelineSummary> ReadAsync(PipelineStorage s, CancellationToken ct, DateTimeOffset? hostStarted = null)
    {
        var uploaded = new Dictionary<string, DateTimeOffset>(); // jobId → upload time of that blob version
        await foreach (var b in s.Incoming.GetBlobsAsync(BlobTraits.None, BlobStates.None, null, ct))
            if (b.Properties.ETag is { } etag && b.Properties.LastModified is { } at) uploaded[JobIds.Derive(b.Name, etag.ToString())] = at;
        int incoming = uploaded.Count;
        var records = new List<ScoreRecord>();
        await foreach (var b in s.Scores.GetBlobsAsync(BlobTraits.None, BlobStates.None, null, ct))
            records.Add(PipelineJson.Deserialize<ScoreRecord>((await s.Scores.GetBlobClient(b.Name).DownloadContentAsync(ct)).Value.Content, b.Name));
        var manifests = new List<ReviewManifest>();
        var pages = new List<string>();
        await foreach (var b in s.Manifests.GetBlobsAsync(BlobTraits.None, BlobStates.None, null, ct))
        {
            if (BlobPaths.IsManifest(b.Name))
                manifests.Add(PipelineJson.Deserialize<ReviewManifest>((await s.Manifests.GetBlobClient(b.Name).DownloadContentAsync(ct)).Value.Content, b.Name));
            else pages.Add(s.Manifests.GetBlobClient(b.Name).Uri.ToString());
        }
        DateTimeOffset Since(string jobId) => hostStarted is { } h && h > uploaded[jobId] ? h : uploaded[jobId];
        var latencies = records.Where(r => uploaded.ContainsKey(r.JobId)).Select(r => r.ScoredAt - Since(r.JobId)).Order().ToList();
        static TimeSpan Percentile(List<TimeSpan> sorted, double p) => sorted.Count == 0 ? TimeSpan.Zero : sorted[(int)Math.Ceiling(p * sorted.Count) - 1];
        static TimeSpan Span(IEnumerable<DateTimeOffset> times) { var t = times.ToList(); return t.Count < 2 ? TimeSpan.Zero : t.Max() - t.Min(); }
        return new PipelineSummary(incoming, records.Count(r => r.Outcome is ScoreOutcome.Scored or ScoreOutcome.Flagged),
            records.Count(r => r.Flagged), records.Count(r => r.Outcome == ScoreOutcome.Rejected), records.Count(r => r.Outcome == ScoreOutcome.Failed),
            manifests.Count, manifests.Sum(m => m.Images.Count), manifests.Sum(m => m.Images.Count(i => i.Consistent)),
            Span(records.Select(r => r.ScoredAt)), Span(manifests.Select(m => m.CreatedAt)), pages,
            Percentile(latencies, 0.50), Percentile(latencies, 0.95))
        {
            Converted = records.Count(r => r.Score?.Conversion is not null),
            OutOfDomain = records.Count(r => r.Score?.OutOfDomain.Count > 0),
        };
    }
}
