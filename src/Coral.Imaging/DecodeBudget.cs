namespace Coral.Imaging;

/// <summary>
/// A process-wide budget of decoded bytes, shared by every concurrent decode of a large image: a burst of compressed
/// images just under the pixel limit waits its turn instead of stacking up gigabytes (the scorer replicas have 4 GiB and
/// score several blobs at once). One image above the whole budget is refused with a typed error naming it.
/// </summary>
public sealed class DecodeBudget(long totalBytes)
{
    /// <summary>1 GiB (coral-names.json's DecodeBudgetMegabytes): six 6300×6300 images' RGBA at once, inside a 4 GiB replica beside the model.</summary>
    public const long DefaultBytes = 1L << 30;

    /// <summary>How long a decode waits for budget before it fails (it is retried like any transient failure).</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(2);

    public static DecodeBudget Shared { get; private set; } = new(DefaultBytes);

    /// <summary>Replaces the shared budget (hosts call this once at start, from their setting).</summary>
    public static void Configure(long totalBytes)
    {
        if (totalBytes < 1 << 20) throw new ArgumentOutOfRangeException(nameof(totalBytes), totalBytes, "the decode budget must be at least 1 MiB");
        Shared = new DecodeBudget(totalBytes);
    }

    private readonly object gate = new();
    private long used, peak;

    public long TotalBytes { get; } = totalBytes;
    public long InUseBytes { get { lock (gate) return used; } }
    /// <summary>Most bytes held at once since this budget was made.</summary>
    public long PeakBytes { get { lock (gate) return peak; } }

    public Reservation Reserve(long bytes, string sourceName)
    {
        if (bytes > TotalBytes) throw new DecodeBudgetExceededException(sourceName, bytes, TotalBytes);
        var deadline = DateTime.UtcNow + MaxWait;
        lock (gate)
        {
            while (used + bytes > TotalBytes)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(gate, left) && used + bytes > TotalBytes)
                    throw new TimeoutException($"{sourceName}: waited {MaxWait.TotalSeconds:F0} s for {bytes >> 20} MiB of the decode budget ({used >> 20} of {TotalBytes >> 20} MiB in use)");
            }
            used += bytes;
            peak = Math.Max(peak, used);
        }
        return new Reservation(this, bytes);
    }

    private void Release(long bytes)
    {
        lock (gate) { used -= bytes; Monitor.PulseAll(gate); }
    }

    public readonly struct Reservation(DecodeBudget owner, long bytes) : IDisposable
    {
        public void Dispose() => owner?.Release(bytes);
    }
}
