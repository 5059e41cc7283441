using Coral.Imaging;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Scoring;

namespace Coral.Testing;

/// <summary>
/// Test double for the classifier seam: accepts complete PNGs only (else <see cref="ImageRejectedException"/>), and
/// derives a deterministic signal from the bytes; a name containing "flag" scores above the threshold.
/// </summary>
public sealed class FakeImageScorer : IImageScorer
{
    public static readonly string[] Classes = ["t-shirt", "trouser", "pullover"];
    public string ModelVersion => "fake-classifier-1";
    public double? RecommendedThreshold => 0.5;
    public int Calls;
    /// <summary>Throw this many times (transient) before scoring normally.</summary>
    public int FailuresBeforeSuccess;

    public ImageScore Score(ReadOnlyMemory<byte> image, string sourceName, CancellationToken ct)
    {
        Interlocked.Increment(ref Calls);
        if (Interlocked.Decrement(ref FailuresBeforeSuccess) >= 0) throw new IOException($"{sourceName}: transient scorer failure");
        var span = image.Span;
        if (span.Length < 8 || span[0] != 0x89 || span[1] != (byte)'P') throw new ImageRejectedException(sourceName, "not a PNG image");
        if (span.Length < 20 || !span[^8..^4].SequenceEqual("IEND"u8)) throw new ImageRejectedException(sourceName, "truncated PNG (no IEND chunk)");
        double signal = sourceName.Contains("flag", StringComparison.Ordinal) ? 0.9 : 0.1;
        int cls = span[^1] % Classes.Length;
        var probs = new float[Classes.Length];
        for (int i = 0; i < probs.Length; i++) probs[i] = i == cls ? 0.8f : 0.2f / (Classes.Length - 1);
        return new ImageScore(cls, Classes[cls], probs, Classes, "fake-signal", signal);
    }
}

/// <summary>
/// Test double for the LTG seam: real PNGs of seeded noise. Can block until released (to kill a host
/// mid-job) or fail a number of times.
/// </summary>
public sealed class FakeBatchGenerator : ILongtailBatchGenerator
{
    public string DiffusionModel => "fake-diffusion-1";
    public IReadOnlyDictionary<string, double> Parameters { get; } = new Dictionary<string, double> { ["guidanceScale"] = 2.5, ["steps"] = 10 };
    public int Calls;
    public int FailuresBeforeSuccess;
    /// <summary>If set, GenerateAsync waits for it (after signalling <see cref="Started"/>).</summary>
    public Func<CancellationToken, Task>? Gate;
    public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task<GeneratedBatch> GenerateAsync(LongtailJob job, ReadOnlyMemory<byte> sourceImage, CancellationToken ct)
    {
        Interlocked.Increment(ref Calls);
        Started.TrySetResult();
        if (Gate is not null) await Gate(ct);
        if (Interlocked.Decrement(ref FailuresBeforeSuccess) >= 0) throw new IOException($"job {job.JobId}: transient generator failure");
        var list = new List<GeneratedImage>();
        for (int i = 0; i < job.ImageCount; i++)
        {
            long seed = job.SeedFor(i);
            var rng = new Random((int)(seed % int.MaxValue));
            var px = new float[28 * 28];
            for (int p = 0; p < px.Length; p++) px[p] = (float)rng.NextDouble();
            var png = ImageCodec.EncodePng(new ImageTensor(px, 1, 28, 28));
            int cls = job.Score.PredictedClass;
            var probs = new float[job.Score.ClassNames.Count];
            for (int k = 0; k < probs.Length; k++) probs[k] = k == cls ? 0.7f : 0.3f / Math.Max(1, probs.Length - 1);
            double after = job.Score.Signal * 0.5 + i * 0.01;
            list.Add(new GeneratedImage(png, seed, job.Score.Signal, after, cls, job.Score.ClassNames[cls], probs, i % 3 != 2)
            {
                Evidence = Evidence(seed, job.Score.ClassNames[cls], after, i % 3 != 2, kept: true, rank: i + 1),
            });
        }
        // One over-generated candidate that the filter dropped, as the real generator records it.
        var dropped = Evidence(job.SeedFor(1000), job.Score.ClassNames[job.Score.PredictedClass], 0.5, consistent: false, kept: false, rank: 0);
        return new GeneratedBatch(list, [dropped]);
    }

    private static CandidateEvidence Evidence(long seed, string cls, double after, bool consistent, bool kept, int rank) => new()
    {
        Seed = seed, ClassName = cls, Signal = "epistemic-head", SignalAfter = after, SignalUnguided = after - 0.02,
        HeldOutSignal = "mutual-information", HeldOutAfter = after / 2, HeldOutUnguided = after / 3,
        Consistent = consistent, ConsistencyBy = "diffusion-model", ModelClass = consistent ? cls : "Other", ModelMargin = consistent ? 0.01 : -0.01, ModelMarginThreshold = 0.005,
        Kept = kept, Rank = rank, Reason = kept ? $"kept: rank {rank}" : "dropped: the diffusion model places it in Other",
    };
}

/// <summary>A small valid PNG (28×28 grayscale) whose last pixel varies with <paramref name="variant"/>.</summary>
public static class TestPngs
{
    public static byte[] Make(int variant)
    {
        var px = new float[28 * 28];
        for (int i = 0; i < px.Length; i++) px[i] = ((i * 7 + variant * 13) % 256) / 255f;
        return ImageCodec.EncodePng(new ImageTensor(px, 1, 28, 28));
    }
}
