using Azure.Storage.Blobs;
using System.Text.Json.Serialization;
using Azure.Storage.Queues.Models;
using Azure.Storage.Queues;
using Azure;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Storage;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Names;
using Microsoft.Extensions.Logging;

namespace Coral.LocalHost.Serving;

public sealed record QueueConsumerOptions
{
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(Defaults.VisibilityTimeoutSeconds);
    public int MaxDequeueCount { get; init; } = Defaults.MaxDequeueCount;
    public TimeSpan MaxPollDelay { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How long a job whose lease is held elsewhere waits before its next try (about one lease).</summary>
    public TimeSpan BusyRetryDelay { get; init; } = TimeSpan.FromSeconds(Defaults.JobLeaseSeconds);
}

/// <summary>
/// Consumes a queue the way the Functions host does (batchSize 1): the message stays invisible while it
/// runs (the visibility is renewed, so long jobs are not re-delivered), a failure leaves it to reappear
/// after the visibility timeout, and on the last allowed try — or when a crashed host let it exceed
/// maxDequeueCount — it moves to the poison queue with the reason. Permanent failures go there at once.
/// </summary>
/// <param name="overflow">Where a poison envelope too large for the poison queue is stored (staging/); null: the poison queue only.</param>
/// <param name="liveness">Told about every queue poll that answered or failed (the host's heartbeat).</param>
public sealed class QueueConsumer(QueueClient queue, QueueClient poison, QueueConsumerOptions options, ILogger logger, BlobContainerClient? overflow = null,
    HostLiveness? liveness = null)
{
    public delegate Task MessageHandler(QueueMessage message, CancellationToken ct);

    /// <summary>Runs until <paramref name="ct"/> is cancelled; in-flight work is cancelled and its message released at once.</summary>
    public async Task RunAsync(MessageHandler handler, CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (!ct.IsCancellationRequested)
        {
            bool worked;
            try { worked = await ProcessOneAsync(handler, ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception e)
            {
                // Any failure talking to the queue (an outage ends as AggregateException after the SDK's retries): log, back off, go on.
                liveness?.QueuePollFailed();
                logger.LogWarning("Queue {Queue} unavailable ({Type}{Status}): {Message}", queue.Name, e.GetType().Name,
                    e is RequestFailedException r ? $" {r.Status}" : "", e.Message);
                worked = false;
            }
            if (worked) { delay = TimeSpan.FromMilliseconds(50); continue; }
            try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { break; }
            delay = TimeSpan.FromMilliseconds(Math.Min(options.MaxPollDelay.TotalMilliseconds, delay.TotalMilliseconds * 2));
        }
    }

    /// <summary>Receives and handles at most one message; false if the queue was empty.</summary>
    public async Task<bool> ProcessOneAsync(MessageHandler handler, CancellationToken ct)
    {
        var received = await queue.ReceiveMessagesAsync(1, options.VisibilityTimeout, ct);
        liveness?.QueuePollSucceeded();
        if (received.Value.Length == 0) return false;
        var message = received.Value[0];
        using var scope = logger.BeginScope("MessageId={MessageId} DequeueCount={DequeueCount}", message.MessageId, message.DequeueCount);

        if (message.DequeueCount > options.MaxDequeueCount)
        {
            // Only a host that died mid-run (or overran its visibility) leaves a message here: nothing to catch.
            await MoveToPoisonAsync(message, message.PopReceipt,
                $"delivered {message.DequeueCount} times without completing (host crashed or timed out each time)", ct);
            return true;
        }

        var renewal = new VisibilityRenewal(queue, message, options.VisibilityTimeout, logger);
        try
        {
            await handler(message, ct);
            await renewal.StopAsync();
            await queue.DeleteMessageAsync(message.MessageId, renewal.PopReceipt, CancellationToken.None);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await renewal.StopAsync();
            // Shutting down: hand the message back now rather than after the visibility timeout.
            await TryUpdateVisibilityAsync(message.MessageId, renewal.PopReceipt, TimeSpan.Zero);
            throw;
        }
        catch (Exception e)
        {
            await renewal.StopAsync();
            string reason = $"{e.GetType().Name}: {e.Message}";
            if (e is JobBusyException)
            {
                // Another worker (or a dead one whose lease has not expired) holds the job: come back after the lease.
                logger.LogInformation("Message {MessageId}: {Reason}; retrying after {Delay}", message.MessageId, e.Message, options.BusyRetryDelay);
                await TryUpdateVisibilityAsync(message.MessageId, renewal.PopReceipt, options.BusyRetryDelay);
            }
            else if (e is PermanentJobException)
            {
                await MoveToPoisonAsync(message, renewal.PopReceipt, "permanent failure: " + reason, CancellationToken.None);
            }
            else if (message.DequeueCount >= options.MaxDequeueCount)
            {
                await MoveToPoisonAsync(message, renewal.PopReceipt, $"failed {message.DequeueCount} times; last error: {reason}", CancellationToken.None);
            }
            else
            {
                logger.LogWarning("Message {MessageId} failed on try {Try} of {Max}; it reappears in {Timeout}: {Reason}",
                    message.MessageId, message.DequeueCount, options.MaxDequeueCount, options.VisibilityTimeout, reason);
                await TryUpdateVisibilityAsync(message.MessageId, renewal.PopReceipt, options.VisibilityTimeout);
            }
        }
        return true;
    }

    private async Task MoveToPoisonAsync(QueueMessage message, string popReceipt, string reason, CancellationToken ct)
    {
        var envelope = new PoisonEnvelope(message.MessageText, message.MessageId, message.DequeueCount, reason, queue.Name, DateTimeOffset.UtcNow);
        // Send first, then delete: a crash in between duplicates into poison (harmless) instead of losing the message.
        if (overflow is null) await poison.SendMessageAsync(PipelineJson.Serialize(envelope).ToString(), ct);
        else await PoisonMessages.SendAsync(poison, overflow, envelope, ct);
        try { await queue.DeleteMessageAsync(message.MessageId, popReceipt, ct); }
        catch (RequestFailedException e) when (e.Status == 404) { }
        logger.LogError("Message {MessageId} moved to {Poison}: {Reason}", message.MessageId, poison.Name, reason);
    }

    private async Task TryUpdateVisibilityAsync(string id, string popReceipt, TimeSpan visibility)
    {
        try { await queue.UpdateMessageAsync(id, popReceipt, visibilityTimeout: visibility); }
        catch (RequestFailedException e) when (e.Status is 404 or 400) { /* already gone or receipt stale: it reappears anyway */ }
    }

    /// <summary>Keeps an in-flight message invisible, half a timeout at a time; tracks the latest pop receipt.</summary>
    private sealed class VisibilityRenewal
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public VisibilityRenewal(QueueClient queue, QueueMessage message, TimeSpan timeout, ILogger logger)
        {
            PopReceipt = message.PopReceipt;
            _loop = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        await Task.Delay(timeout / 2, _stop.Token);
                        // Not cancellable: an update that reached the server changes the pop receipt, and we must learn it.
                        var r = await queue.UpdateMessageAsync(message.MessageId, PopReceipt, visibilityTimeout: timeout);
                        PopReceipt = r.Value.PopReceipt;
                    }
                }
                catch (OperationCanceledException) { }
                catch (RequestFailedException e) { logger.LogWarning("Could not extend visibility of {MessageId}: {Message}", message.MessageId, e.Message); }
            });
        }

        public string PopReceipt { get; private set; }

        public async Task StopAsync()
        {
            _stop.Cancel();
            await _loop;
        }
    }
}
