namespace Coral.LocalHost.Serving;

/// <summary>
/// When the host last talked to storage successfully: a scan of incoming/ that completed, a queue poll that answered.
/// A process can look healthy while a loop is stuck; these two timestamps say whether it is, in the log (a heartbeat
/// line) and in `coral serve`'s summary.
/// </summary>
public sealed class HostLiveness
{
    private long scanTicks, pollTicks, scanFailures, pollFailures;

    public DateTimeOffset? LastGoodScan => At(Interlocked.Read(ref scanTicks));
    public DateTimeOffset? LastGoodQueuePoll => At(Interlocked.Read(ref pollTicks));
    public long ScanFailures => Interlocked.Read(ref scanFailures);
    public long QueuePollFailures => Interlocked.Read(ref pollFailures);

    public void ScanSucceeded() => Interlocked.Exchange(ref scanTicks, DateTimeOffset.UtcNow.UtcTicks);
    public void ScanFailed() => Interlocked.Increment(ref scanFailures);
    public void QueuePollSucceeded() => Interlocked.Exchange(ref pollTicks, DateTimeOffset.UtcNow.UtcTicks);
    public void QueuePollFailed() => Interlocked.Increment(ref pollFailures);

    /// <summary>"last good scan 0.4 s ago (2 failed), last good queue poll 0.1 s ago (0 failed)".</summary>
    public string Describe(DateTimeOffset now) =>
        $"last good scan {Ago(LastGoodScan, now)} ({ScanFailures} failed), last good queue poll {Ago(LastGoodQueuePoll, now)} ({QueuePollFailures} failed)";

    private static string Ago(DateTimeOffset? t, DateTimeOffset now) => t is { } v ? $"{(now - v).TotalSeconds:F1} s ago" : "never";

    private static DateTimeOffset? At(long ticks) => ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
}
