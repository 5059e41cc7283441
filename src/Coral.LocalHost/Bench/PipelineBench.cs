using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs;
using Coral.LocalHost.Audit;
using Coral.LocalHost.Faults;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Coral.LocalHost.Bench;

/// <summary>One upload for the bench: a real image or a hostile blob.</summary>
public sealed record BenchInput(string Name, byte[] Content);

/// <summary>What the bench has seen so far (for a progress display).</summary>
public sealed record PipelineBenchProgress(int Uploaded, int Total, int Scored, int Batches, int BatchesExpected);

/// <summary>A finished bench run: the audit, every check that failed, and the timings.</summary>
public sealed record PipelineBenchResult(
    PipelineAudit Audit, IReadOnlyList<HostileCheck> Hostile, IReadOnlyList<ScoreRecord> GoodRecords, IReadOnlyList<AuditProblem> Problems,
    TimeSpan Upload, TimeSpan AllScored, TimeSpan Idle)
{
    public bool Ok => Problems.Count == 0;

    /// <summary>Upload (blob Last-Modified) to score record of every input, sorted.</summary>
    public IReadOnlyList<TimeSpan> Latencies => Audit.UploadToScore();

    public IReadOnlyList<TimeSpan> GoodLatencies =>
        GoodRecords.Where(r => Audit.UploadedAt.ContainsKey(r.JobId)).Select(r => r.ScoredAt - Audit.UploadedAt[r.JobId]).Order().ToList();

    /// <summary>First upload to last score record.</summary>
    public TimeSpan Span
    {
        get
        {
            var first = Audit.UploadedAt.Values.DefaultIfEmpty().Min();
            var last = Audit.Records.Select(r => r.ScoredAt).DefaultIfEmpty().Max();
            return TimeSpan.FromSeconds(Math.Max(1e-3, (last - first).TotalSeconds));
        }
    }

    public double InputsPerSecond => Audit.Records.Count / Span.TotalSeconds;
}

/// <summary>
/// `coral bench pipeline`, load and faults: drops every input into incoming/ at once (shuffled, 32 uploads in flight)
/// while the local host runs, waits until everything is scored and the job queue is empty, stops the host, then audits
/// storage (<see cref="PipelineAudit"/>): nothing lost, nothing duplicated, one error record with its reason per hostile
/// blob (<see cref="HostileBlobs"/>), no stuck message, every good input scored.
/// </summary>
public static class PipelineBench
{
    /// <param name="host">A built, not yet started host with <see cref="LocalHostServices.AddCoralLocalHost"/>; the bench runs and disposes it.</param>
    /// <param name="goodPrefix">Name prefix of the real inputs (they must all be scored, never refused).</param>
    public static async Task<PipelineBenchResult> RunAsync(IHost host, IReadOnlyList<BenchInput> good, string goodPrefix, IReadOnlyList<HostileBlob> hostile,
        bool generatorRuns, TimeSpan timeout, IProgress<PipelineBenchProgress>? progress, CancellationToken ct)
    {
        var storage = host.Services.GetRequiredService<PipelineStorage>();
        var service = host.Services.GetRequiredService<LocalHostService>();
        await storage.EnsureCreatedAsync(ct);
        using var hostStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var hostTask = Task.Run(async () =>
        {
            await host.RunAsync(hostStop.Token); // disposes the host's services when it returns
            await service.ThrowIfFailedAsync();
        }, CancellationToken.None);

        int total = good.Count + hostile.Count;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan uploadTime, allScored = TimeSpan.Zero;
        bool idle = false;
        string? hostFailure = null;
        using var deadline = new CancellationTokenSource(timeout);

        // All at once: shuffled good and hostile blobs, many uploads in flight, while the host already scans.
        var payloads = good.Concat(hostile.Select(h => new BenchInput(h.Name, h.Content))).OrderBy(_ => Random.Shared.Next()).ToList();
        int uploaded = 0;
        await Parallel.ForEachAsync(payloads, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (p, t) =>
        {
            await storage.Incoming.GetBlobClient(p.Name).UploadAsync(BinaryData.FromBytes(p.Content), overwrite: false, t);
            progress?.Report(new PipelineBenchProgress(Interlocked.Increment(ref uploaded), total, 0, 0, 0));
        });
        uploadTime = clock.Elapsed;
        int stableIdle = 0, stalled = 0, lastRecords = -1;
        while (!deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            if (hostTask.IsCompleted) { hostFailure = hostTask.Exception?.GetBaseException().ToString() ?? "the host stopped on its own"; break; }
            int records = await CountAsync(storage.Scores, ct);
            if (records >= total && allScored == TimeSpan.Zero) allScored = clock.Elapsed;
            int queued = (await storage.Jobs.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount;
            int done = generatorRuns ? await CountAsync(storage.Manifests, ct, BlobPaths.IsManifest) : 0;
            progress?.Report(new PipelineBenchProgress(total, total, records, done, done + queued));
            // Idle as the local host defines it, seen twice in a row: all scored, and no job waiting or in flight.
            stableIdle = records >= total && (!generatorRuns || queued == 0) ? stableIdle + 1 : 0;
            if (stableIdle >= 2) { idle = true; break; }
            // No progress for 30 s with nothing queued: some input will never get a record; stop and let the audit say which.
            stalled = records == lastRecords && (!generatorRuns || queued == 0) ? stalled + 1 : 0;
            lastRecords = records;
            if (stalled >= 30) break;
            try { await Task.Delay(1000, deadline.Token); } catch (OperationCanceledException) { }
        }
        var elapsed = clock.Elapsed;
        hostStop.Cancel();
        try { await hostTask; }
        catch (OperationCanceledException) { }
        catch (Exception e) { hostFailure ??= e.ToString(); }
        ct.ThrowIfCancellationRequested();

        var audit = await PipelineAudit.ReadAsync(storage, generatorRan: generatorRuns, CancellationToken.None);
        var hostileRows = audit.CheckHostile(storage.Incoming, hostile);
        var goodRecords = audit.Records.Where(r => r.Source.Name.StartsWith(goodPrefix, StringComparison.Ordinal)).ToList();
        var problems = audit.Problems.ToList();
        if (goodRecords.Count != good.Count) problems.Add(new("lost", goodPrefix, $"{goodRecords.Count} records for {good.Count} images"));
        foreach (var r in goodRecords.Where(r => r.Outcome is not (ScoreOutcome.Scored or ScoreOutcome.Flagged)))
            problems.Add(new("good-input-refused", r.Source.Name, $"{r.Outcome}: {r.Reason}"));
        foreach (var h in hostileRows.Where(h => !h.Ok))
            problems.Add(new("hostile-unexpected", h.Name, $"{h.Records} records, {h.Outcome} {h.ErrorType}: {h.Reason} (expected {h.ExpectedError})"));
        if (audit.Incoming != total) problems.Add(new("upload-mismatch", storage.Incoming.Name, $"{audit.Incoming} blobs listed, {total} uploaded (names aliased?)"));
        if (!idle) problems.Add(new("not-idle", "host", deadline.IsCancellationRequested ? "timed out before everything was scored and generated"
            : "stopped making progress before every input had a record"));
        if (hostFailure is not null) problems.Add(new("host-stopped", "host", hostFailure));
        if (audit.Poison.Count > 0) problems.Add(new("poisoned", storage.JobsPoison.Name, $"{audit.Poison.Count} jobs given up on"));
        return new PipelineBenchResult(audit, hostileRows, goodRecords, problems, uploadTime, allScored, elapsed);
    }

    private static async Task<int> CountAsync(BlobContainerClient c, CancellationToken ct, Func<string, bool>? where = null)
    {
        int k = 0;
        await foreach (var b in c.GetBlobsAsync(BlobTraits.None, BlobStates.None, null, ct))
            if (where is null || where(b.Name)) k++;
        return k;
    }
}
