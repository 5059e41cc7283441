using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs;
using Coral.LocalHost.Audit;
using Coral.LocalHost.Faults;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Coral.LocalHost.Bench;

/// <summary>One upload for the bench: a real image or a hostile blob.</summary>
public sealed record BenchInput(string Name, byte[] Content);

/// <summary>What the bench has seen so far (for a progress display).</summary>
public sealed record PipelineBenchProgress(int Uploaded, int Total, int Scored, int Batches, int BatchesExpected);

/// <summary>How the inputs arrive in incoming/.</summary>
public enum ArrivalKind
{
    /// <summary>All at once (shuffled, 32 uploads in flight) while the host runs.</summary>
    Burst,
    /// <summary>All uploaded before the host starts: the host drains a backlog, which measures its throughput alone.</summary>
    Backlog,
    /// <summary>One upload every 1/rate seconds while the host runs.</summary>
    Steady,
}

/// <param name="RatePerSecond">Uploads per second (<see cref="ArrivalKind.Steady"/> only).</param>
public sealed record BenchArrival(ArrivalKind Kind, double RatePerSecond = 0)
{
    public static readonly BenchArrival Burst = new(ArrivalKind.Burst);
    public static readonly BenchArrival Backlog = new(ArrivalKind.Backlog);
    public static BenchArrival Steady(double ratePerSecond) => ratePerSecond > 0 ? new(ArrivalKind.Steady, ratePerSecond)
        : throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "a steady arrival rate must be positive");
    public override string ToString() => Kind == ArrivalKind.Steady ? $"steady {RatePerSecond:G3}/s" : Kind.ToString().ToLowerInvariant();
}

/// <summary>A finished bench run: the audit, every check that failed, and the timings.</summary>
/// <param name="UploadedAt">When each upload's response arrived, by blob name (the bench's clock, which the records' ScoredAt shares).</param>
/// <param name="HostStarted">When the host started (after the uploads for a backlog).</param>
public sealed record PipelineBenchResult(
    PipelineAudit Audit, IReadOnlyList<HostileCheck> Hostile, IReadOnlyList<ScoreRecord> GoodRecords, IReadOnlyList<AuditProblem> Problems,
    TimeSpan Upload, TimeSpan AllScored, TimeSpan Idle, BenchArrival Arrival, IReadOnlyDictionary<string, DateTimeOffset> UploadedAt, DateTimeOffset HostStarted)
{
    public bool Ok => Problems.Count == 0;

    /// <summary>Upload to score record of every input, sorted. For a backlog it includes the wait for the host to start.</summary>
    public IReadOnlyList<TimeSpan> Latencies => LatenciesOf(Audit.Records);

    public IReadOnlyList<TimeSpan> GoodLatencies => LatenciesOf(GoodRecords);

    private List<TimeSpan> LatenciesOf(IEnumerable<ScoreRecord> records) =>
        records.Where(r => UploadedAt.ContainsKey(r.Source.Name)).Select(r => r.ScoredAt - UploadedAt[r.Source.Name]).Order().ToList();

    /// <summary>First upload (for a backlog: the host's start) to last score record.</summary>
    public TimeSpan Span
    {
        get
        {
            var first = Arrival.Kind == ArrivalKind.Backlog ? HostStarted : UploadedAt.Values.DefaultIfEmpty().Min();
            var last = Audit.Records.Select(r => r.ScoredAt).DefaultIfEmpty().Max();
            return TimeSpan.FromSeconds(Math.Max(1e-3, (last - first).TotalSeconds));
        }
    }

    public double InputsPerSecond => Audit.Records.Count / Span.TotalSeconds;

    /// <summary>
    /// The rate between the first and the last score record: the host once warm, as the storage roof is measured warm.
    /// For a backlog this is the throughput; <see cref="InputsPerSecond"/> adds the host's start (first listings, JIT).
    /// </summary>
    public double DrainPerSecond
    {
        get
        {
            if (Audit.Records.Count < 2) return InputsPerSecond;
            var first = Audit.Records.Min(r => r.ScoredAt);
            var last = Audit.Records.Max(r => r.ScoredAt);
            return (Audit.Records.Count - 1) / Math.Max(1e-3, (last - first).TotalSeconds);
        }
    }

    /// <summary>Inputs lost (no record) and blob versions with more than one record, from the audit.</summary>
    public int Lost => Problems.Count(p => p.Kind == "lost");
    public int Duplicated => Problems.Count(p => p.Kind == "duplicate");
}

/// <summary>
/// `coral bench pipeline`, load and faults: puts every input into incoming/ as <see cref="BenchArrival"/> says (at
/// once, as a backlog before the host starts, or at a steady rate), waits until everything is scored and the job queue is empty, stops the host, then audits
/// storage (<see cref="PipelineAudit"/>): nothing lost, nothing duplicated, one error record with its reason per hostile
/// blob (<see cref="HostileBlobs"/>), no stuck message, every good input scored.
/// </summary>
public static class PipelineBench
{
    /// <param name="host">A built, not yet started host with <see cref="LocalHostServices.AddCoralLocalHost"/>; the bench runs and disposes it.</param>
    /// <param name="goodPrefix">Name prefix of the real inputs (they must all be scored, never refused).</param>
    public static async Task<PipelineBenchResult> RunAsync(IHost host, IReadOnlyList<BenchInput> good, string goodPrefix, IReadOnlyList<HostileBlob> hostile,
        bool generatorRuns, TimeSpan timeout, IProgress<PipelineBenchProgress>? progress, CancellationToken ct, BenchArrival? arrival = null)
    {
        arrival ??= BenchArrival.Burst;
        var storage = host.Services.GetRequiredService<PipelineStorage>();
        var service = host.Services.GetRequiredService<LocalHostService>();
        var scorer = host.Services.GetRequiredService<ScoreHandler>();
        await storage.EnsureCreatedAsync(ct);
        using var hostStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task? hostTask = null;
        var hostStarted = DateTimeOffset.UtcNow;
        void StartHost()
        {
            hostStarted = DateTimeOffset.UtcNow;
            hostTask = Task.Run(async () =>
            {
                await host.RunAsync(hostStop.Token); // disposes the host's services when it returns
                await service.ThrowIfFailedAsync();
            }, CancellationToken.None);
        }

        int total = good.Count + hostile.Count;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan uploadTime, allScored = TimeSpan.Zero;
        bool idle = false;
        string? hostFailure = null;
        using var deadline = new CancellationTokenSource(timeout);

        if (arrival.Kind != ArrivalKind.Backlog) StartHost();
        var payloads = good.Concat(hostile.Select(h => new BenchInput(h.Name, h.Content))).OrderBy(_ => Random.Shared.Next()).ToList();
        var uploadedAt = await UploadAsync(storage, payloads, arrival, n => progress?.Report(new PipelineBenchProgress(n, total, 0, 0, 0)), ct);
        uploadTime = clock.Elapsed;
        if (arrival.Kind == ArrivalKind.Backlog) StartHost();
        int stableIdle = 0, stalled = 0, lastRecords = -1;
        while (!deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            if (hostTask!.IsCompleted) { hostFailure = hostTask.Exception?.GetBaseException().ToString() ?? "the host stopped on its own"; break; }
            // The host's own count, not a listing of scores/: listing thousands of records every second would load the
            // storage under test (Azurite is the bottleneck here). The audit below reads storage itself.
            int records = scorer.Recorded;
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
        try { await hostTask!; }
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
        return new PipelineBenchResult(audit, hostileRows, goodRecords, problems, uploadTime, allScored, elapsed, arrival, uploadedAt, hostStarted);
    }

    /// <summary>Uploads as the arrival says; returns when each upload's response arrived, by name.</summary>
    private static async Task<IReadOnlyDictionary<string, DateTimeOffset>> UploadAsync(PipelineStorage storage, IReadOnlyList<BenchInput> payloads,
        BenchArrival arrival, Action<int> uploaded, CancellationToken ct)
    {
        var at = new System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset>();
        int done = 0;
        async Task PutAsync(BenchInput p, CancellationToken t)
        {
            await storage.Incoming.GetBlobClient(p.Name).UploadAsync(BinaryData.FromBytes(p.Content), overwrite: false, t);
            at[p.Name] = DateTimeOffset.UtcNow;
            uploaded(Interlocked.Increment(ref done));
        }
        if (arrival.Kind != ArrivalKind.Steady)
        {
            await Parallel.ForEachAsync(payloads, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (p, t) => await PutAsync(p, t));
            return at;
        }
        // On a fixed schedule (not "one after another"), so a slow upload does not lower the arrival rate.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var inFlight = new List<Task>();
        for (int i = 0; i < payloads.Count; i++)
        {
            var due = TimeSpan.FromSeconds(i / arrival.RatePerSecond) - clock.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due, ct);
            inFlight.Add(PutAsync(payloads[i], ct));
        }
        await Task.WhenAll(inFlight);
        return at;
    }

    private static async Task<int> CountAsync(BlobContainerClient c, CancellationToken ct, Func<string, bool>? where = null)
    {
        int k = 0;
        await foreach (var b in c.GetBlobsAsync(BlobTraits.None, BlobStates.None, null, ct))
            if (where is null || where(b.Name)) k++;
        return k;
    }
}
