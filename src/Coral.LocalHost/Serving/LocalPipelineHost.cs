using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Logging;

namespace Coral.LocalHost.Serving;

public sealed record LocalHostOptions
{
    /// <summary>Wait between listings of incoming/ while nothing is new or in flight.</summary>
    public TimeSpan ScanInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Shortest wait between listings while they find new blobs (a listing is spaced by twice its own time, at least this);
    /// also how often a saturated scanner is checked again.</summary>
    public TimeSpan BusyScanInterval { get; init; } = TimeSpan.FromMilliseconds(100);
    public QueueConsumerOptions Queue { get; init; } = new();
    /// <summary>Stop once incoming/ has nothing new and longtail-jobs is empty (demo, tests).</summary>
    public bool UntilIdle { get; init; }
    /// <summary>Blobs downloaded and decoded at once; they fill the scorer's batches.</summary>
    public int ScoringParallelism { get; init; } = Defaults.ScorerConcurrency;
    /// <summary>How often the host logs its heartbeat (last good scan and queue poll).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// `coral serve`: the Functions host's job on one machine, over any storage account (Azurite locally).
/// Runs the same handlers as the Functions apps: the blob scanner feeds the scorer, the queue consumer feeds
/// the generator. Cancel the token (Ctrl-C) to stop: in-flight messages are handed back at once.
/// </summary>
/// <remarks>With no generator (the model is not available) it only scores; jobs wait on the queue, untouched.</remarks>
public sealed class LocalPipelineHost(PipelineStorage storage, ScoreHandler scorer, GenerateHandler? generator, LocalHostOptions options,
    ILoggerFactory loggers)
{
    private readonly ILogger _log = loggers.CreateLogger("Coral.LocalHost");

    /// <summary>When scanning and queue polling last worked; logged every <see cref="LocalHostOptions.HeartbeatInterval"/>.</summary>
    public HostLiveness Liveness { get; } = new();

    /// <summary>Listings of incoming/ so far (0 before <see cref="RunAsync"/> starts).</summary>
    public int Listings => _scanner?.Listings ?? 0;

    private BlobScanner? _scanner;

    public async Task RunAsync(CancellationToken ct)
    {
        await storage.EnsureCreatedAsync(ct);
        var scanner = _scanner = new BlobScanner(storage, scorer, loggers.CreateLogger<BlobScanner>(), options.ScoringParallelism);
        var consumer = new QueueConsumer(storage.Jobs, storage.JobsPoison, options.Queue, loggers.CreateLogger<QueueConsumer>(), storage.Staging, Liveness);
        _log.LogInformation("Serving: scanning {Incoming}/ every {Interval}, consuming {Queue} (visibility {Visibility}, max {Max} tries)",
            storage.Incoming.Name, options.ScanInterval, storage.Jobs.Name, options.Queue.VisibilityTimeout, options.Queue.MaxDequeueCount);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        int lastScan = -1;
        var scanning = Task.Run(async () =>
        {
            int failures = 0, started = 0;
            var lastHeartbeat = DateTimeOffset.UtcNow;
            while (!stop.IsCancellationRequested)
            {
                // A backlog is being worked off: new arrivals would only queue behind it, so skip the listing (no storage request).
                bool saturated = scanner.Saturated && failures == 0;
                if (!saturated)
                {
                    try
                    {
                        // Does not wait for the blobs it starts: the next listing sees new arrivals while they are scored.
                        started = await scanner.ListOnceAsync(stop.Token);
                        lastScan = started + scanner.InFlight + scanner.AwaitingRetry;
                        Liveness.ScanSucceeded();
                        if (failures > 0) _log.LogInformation("Scan of {Incoming} works again after {Failures} failed scan(s)", storage.Incoming.Name, failures);
                        failures = 0;
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
                    catch (Exception e)
                    {
                        // Any failure (an outage surfaces as AggregateException after the SDK's retries): one line, back off, go on.
                        failures++;
                        Liveness.ScanFailed();
                        _log.LogWarning("Scan of {Incoming} failed ({Type}, {Failures} in a row): {Message}", storage.Incoming.Name, e.GetType().Name, failures, e.Message);
                    }
                }
                if (DateTimeOffset.UtcNow - lastHeartbeat >= options.HeartbeatInterval)
                {
                    lastHeartbeat = DateTimeOffset.UtcNow;
                    _log.LogInformation("Alive: {Liveness}", Liveness.Describe(lastHeartbeat));
                }
                // While listings find new blobs, list again soon (spaced by twice the listing's own time, so listing a large
                // container cannot take most of the storage's time). A listing that found nothing new (a backlog being
                // worked off, or quiet) waits the scan interval: each listing of a large container costs the storage.
                var busy = TimeSpan.FromTicks(Math.Max(options.BusyScanInterval.Ticks, 2 * scanner.LastListing.Ticks));
                var wait = saturated ? options.BusyScanInterval
                    : failures > 0 ? TimeSpan.FromMilliseconds(Math.Min(30_000, options.ScanInterval.TotalMilliseconds * (1 << Math.Min(failures, 6))))
                    : started > 0 && busy < options.ScanInterval ? busy : options.ScanInterval;
                try { await Task.Delay(wait, stop.Token); } catch (OperationCanceledException) { break; }
            }
        });
        var consuming = generator is null ? Task.CompletedTask : Task.Run(() => consumer.RunAsync(HandleJobAsync, stop.Token));
        if (generator is null)
            _log.LogWarning("No generator: scoring only; flagged jobs stay on {Queue} until a host with the generator consumes them", storage.Jobs.Name);

        if (options.UntilIdle)
        {
            // Idle = a listing found nothing new, nothing in flight or waiting for a retry, and the queue (visible or in flight) is empty.
            while (!stop.IsCancellationRequested)
            {
                try { await Task.Delay(options.ScanInterval, stop.Token); } catch (OperationCanceledException) { break; }
                if (lastScan != 0) continue;
                Azure.Response<Azure.Storage.Queues.Models.QueueProperties> props;
                try { props = await storage.Jobs.GetPropertiesAsync(stop.Token); }
                catch (Exception e) when (e is not OperationCanceledException) { _log.LogWarning("Idle check of {Queue} failed: {Message}", storage.Jobs.Name, e.Message); continue; }
                if ((generator is null || props.Value.ApproximateMessagesCount == 0) && lastScan == 0)
                {
                    _log.LogInformation("Idle: every incoming blob is scored; {Queue} holds {Count} messages", storage.Jobs.Name,
                        props.Value.ApproximateMessagesCount);
                    stop.Cancel();
                }
            }
        }
        try { await Task.WhenAll(scanning, consuming); }
        catch (OperationCanceledException) { }
        await scanner.DrainAsync(); // cancelled runs finish quickly; none may outlive the host's storage clients
        _log.LogInformation("Stopped; {Liveness}; {Listings} listings of {Incoming}", Liveness.Describe(DateTimeOffset.UtcNow), scanner.Listings, storage.Incoming.Name);
    }

    private async Task HandleJobAsync(Azure.Storage.Queues.Models.QueueMessage message, CancellationToken ct)
    {
        await generator!.HandleMessageAsync(message.MessageText, message.MessageId, message.DequeueCount, ct);
    }
}

/// <summary>`coral queue replay-poison`: puts poisoned messages back on their queue, unwrapped, for another 5 tries.</summary>
public static class PoisonReplay
{
    public static async Task<int> ReplayAsync(PipelineStorage storage, int max, ILogger logger, CancellationToken ct)
    {
        int replayed = 0;
        while (replayed < max)
        {
            var batch = (await storage.JobsPoison.ReceiveMessagesAsync(Math.Min(32, max - replayed), TimeSpan.FromMinutes(1), ct)).Value;
            if (batch.Length == 0) break;
            foreach (var m in batch)
            {
                string original = m.MessageText;
                PoisonEnvelope? env = null;
                try
                {
                    env = PipelineJson.Deserialize<PoisonEnvelope>(BinaryData.FromString(m.MessageText), $"poison message {m.MessageId}");
                }
                catch (PipelineDataException) { /* written by the Functions host: the raw message itself */ }
                if (env is not null)
                {
                    string fromEnvelope = await PoisonMessages.OriginalAsync(env, storage.Staging, $"poison message {m.MessageId}", ct);
                    if (fromEnvelope.Length > 0) original = fromEnvelope;
                }
                // Send first, then delete: a crash in between duplicates (the generator dedupes) rather than loses.
                await storage.Jobs.SendMessageAsync(original, ct);
                await storage.JobsPoison.DeleteMessageAsync(m.MessageId, m.PopReceipt, ct);
                if (env is not null) await PoisonMessages.DeleteBlobAsync(env, storage.Staging, ct);
                logger.LogInformation("Replayed poison message {MessageId}", m.MessageId);
                replayed++;
            }
        }
        return replayed;
    }
}
