using Coral.Pipeline.Contracts;
using Coral.Pipeline.Scoring;
using Coral.Testing;

namespace Coral.Pipeline.Tests;

public class ScoringBatcherTests
{
    /// <summary>Records the size of every batch it is given; rejects inputs whose name says so, like a decoder would.</summary>
    private sealed class BatchRecorder : IImageScorer
    {
        private readonly FakeImageScorer inner = new();
        public readonly System.Collections.Concurrent.ConcurrentQueue<int> Sizes = new();
        public string ModelVersion => inner.ModelVersion;
        public double? RecommendedThreshold => inner.RecommendedThreshold;
        public ImageScore Score(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct) => inner.Score(image, sourceName, ct);

        public IReadOnlyList<ImageScore> ScoreBatch(IReadOnlyList<PreparedImage> images, CancellationToken ct)
        {
            Sizes.Enqueue(images.Count);
            if (images.Any(i => i.SourceName.StartsWith("bad", StringComparison.Ordinal)))
                throw new ImageRejectedException(images.First(i => i.SourceName.StartsWith("bad", StringComparison.Ordinal)).SourceName, "not an image");
            return [.. images.Select(i => Score((ReadOnlyMemory<byte>)i.Input, i.SourceName, ct))];
        }
    }

    private static PreparedImage Image(string name, int seed) => new(name, (ReadOnlyMemory<byte>)TestPngs.Make(seed));

    [Fact]
    public async Task Concurrent_images_share_one_forward_pass_and_each_gets_its_own_result()
    {
        var scorer = new BatchRecorder();
        using var batcher = new ScoringBatcher(scorer, maxBatch: 8, maxWait: TimeSpan.FromSeconds(10));
        var names = Enumerable.Range(0, 8).Select(i => i % 2 == 0 ? $"flag-{i}.png" : $"ok-{i}.png").ToList();

        var scores = await Task.WhenAll(names.Select((n, i) => batcher.ScoreAsync(Image(n, i), default)));

        scorer.Sizes.Should().Equal([8], "eight images arrived within the wait: one batch, sent as soon as it was full");
        scores.Select(s => s.Signal).Should().Equal(names.Select(n => n.StartsWith("flag") ? 0.9 : 0.1), "results go back to their own images");
        batcher.Batches.Should().Be(1);
        batcher.Images.Should().Be(8);
    }

    [Fact]
    public async Task A_batch_never_exceeds_its_size_and_a_lone_image_runs_after_the_wait()
    {
        var scorer = new BatchRecorder();
        using var batcher = new ScoringBatcher(scorer, maxBatch: 4, maxWait: TimeSpan.FromMilliseconds(20));

        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => batcher.ScoreAsync(Image($"ok-{i}.png", i), default)));
        var lone = await batcher.ScoreAsync(Image("ok-lone.png", 99), default).WaitAsync(TimeSpan.FromSeconds(30));

        scorer.Sizes.Should().OnlyContain(n => n <= 4);
        scorer.Sizes.Sum().Should().Be(11);
        scorer.Sizes.Last().Should().Be(1, "nothing else came: the wait ran out and the image was scored alone");
        lone.Signal.Should().Be(0.1);
    }

    [Fact]
    public async Task A_rejected_image_fails_alone_and_its_neighbours_are_scored()
    {
        var scorer = new BatchRecorder();
        using var batcher = new ScoringBatcher(scorer, maxBatch: 3, maxWait: TimeSpan.FromSeconds(10));

        var good1 = batcher.ScoreAsync(Image("ok-1.png", 1), default);
        var bad = batcher.ScoreAsync(Image("bad.png", 2), default);
        var good2 = batcher.ScoreAsync(Image("flag-3.png", 3), default);

        (await good1).Signal.Should().Be(0.1);
        (await good2).Signal.Should().Be(0.9);
        (await FluentActions.Awaiting(() => bad).Should().ThrowAsync<ImageRejectedException>()).Which.SourceName.Should().Be("bad.png");
        scorer.Sizes.Should().Equal(3, 1, 1, 1);
    }

    [Fact]
    public void Nonsense_settings_are_refused_by_name()
    {
        FluentActions.Invoking(() => new ScoringBatcher(new FakeImageScorer(), 0, TimeSpan.Zero)).Should().Throw<ArgumentOutOfRangeException>()
            .Which.ParamName.Should().Be("maxBatch");
    }
}
