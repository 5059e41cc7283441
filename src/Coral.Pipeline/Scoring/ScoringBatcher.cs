using System.Diagnostics;
using System.Threading.Channels;
using Coral.Pipeline.Contracts;

namespace Coral.Pipeline.Scoring;

/// <summary>
/// Dynamic batching: concurrent callers each hand in one prepared image; one loop runs a forward pass per batch of up
/// to <c>maxBatch</c> images, or once the oldest waiting image has waited <c>maxWait</c>, whichever comes first, and
/// fans the results back. One instance per process (a singleton) so that every concurrent invocation shares it.
/// </summary>
public sealed class ScoringBatcher : IDisposable
{
    private sealed record Pending(PreparedImage Image, TaskCompletionSource<ImageScore> Done, long EnqueuedAt, CancellationToken Ct);

    private readonly IImageScorer _scorer;
    private readonly int _maxBatch;
    private readonly long _maxWaitTicks;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private long _batches, _images;

    public ScoringBatcher(IImageScorer scorer, int maxBatch, TimeSpan maxWait)
    {
        if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "a batch holds at least one image");
        if (maxWait < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(maxWait), maxWait, "the wait cannot be negative");
        _scorer = scorer;
        _maxBatch = maxBatch;
        _maxWaitTicks = (long)(maxWait.TotalSeconds * Stopwatch.Frequency);
        _loop = Task.Run(RunAsync);
    }

    public int MaxBatch => _maxBatch;

    /// <summary>Forward passes run so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Images scored so far (<see cref="Images"/> / <see cref="Batches"/> is the mean batch size).</summary>
    public long Images => Interlocked.Read(ref _images);

    /// <summary>Scores one image in the next batch; <see cref="ImageRejectedException"/> and scorer failures come back per image.</summary>
    public Task<ImageScore> ScoreAsync(PreparedImage image, CancellationToken ct)
    {
        var pending = new Pending(image, new TaskCompletionSource<ImageScore>(TaskCreationOptions.RunContinuationsAsynchronously), Stopwatch.GetTimestamp(), ct);
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(ScoringBatcher));
        return pending.Done.Task.WaitAsync(ct);
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            if (!_queue.Reader.TryRead(out var first)) continue;
            batch.Add(first);
            long deadline = first.EnqueuedAt + _maxWaitTicks;
            while (batch.Count < _maxBatch)
            {
                if (_queue.Reader.TryRead(out var next)) { batch.Add(next); continue; }
                long left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0) break;
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
                try { if (!await _queue.Reader.WaitToReadAsync(wait.Token)) break; }
                catch (OperationCanceledException) { break; }
            }
            Run(batch);
        }
    }

    private void Run(List<Pending> batch)
    {
        var live = batch.Where(p => !p.Ct.IsCancellationRequested).ToList();
        if (live.Count == 0) return;
        try
        {
            var scores = _scorer.ScoreBatch([.. live.Select(p => p.Image)], CancellationToken.None);
            Count(live.Count);
            for (int i = 0; i < live.Count; i++) live[i].Done.TrySetResult(scores[i]);
        }
        catch (Exception) when (live.Count > 1)
        {
            // One bad image must not fail its neighbours: score them one by one so each gets its own outcome.
            foreach (var p in live) Run([p]);
        }
        catch (Exception e)
        {
            live[0].Done.TrySetException(e);
        }
    }

    private void Count(int images)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _images, images);
    }

    /// <summary>Stops taking images; those already waiting are still scored.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _loop.Wait(TimeSpan.FromSeconds(30));
    }
}
