using Coral.Ml.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Signals;

/// <summary>
/// Fits the epistemic head to regress the ensemble's mutual information from the frozen classifier's
/// features and logits. Only the head's parameters get gradients; the classifier is never touched.
/// </summary>
public static class EpistemicHeadTrainer
{
    public sealed record Options(int Epochs = 40, int BatchSize = 256, double LearningRate = 3e-3, int Hidden = 64, int Seed = 0);

    /// <summary>features [N·F], logits [N·C] (member 0, precomputed), targets [N] = ensemble MI.</summary>
    public static EpistemicHead Fit(float[] features, float[] logits, float[] targets, int featureDim, int numClasses, Options options, ITrainingProgress? progress = null)
    {
        TorchRuntime.EnsureLoaded();
        progress ??= NullProgress.Instance;
        int n = targets.Length;
        if (features.Length != n * featureDim || logits.Length != n * numClasses)
            throw new ArgumentException($"feature/logit arrays do not match {n} targets");
        Seeding.Set(Seeding.Derive(options.Seed, 7919));
        var head = new EpistemicHead(featureDim, numClasses, options.Hidden);
        float scale = targets.Length == 0 ? 1f : Math.Max(targets.Average(), 1e-6f);
        head.Scale = scale;
        using var f = tensor(features, [n, featureDim]);
        using var l = tensor(logits, [n, numClasses]);
        using var y = tensor(targets);
        using var opt = optim.Adam(head.parameters(), lr: options.LearningRate, weight_decay: 1e-4);
        head.train();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var order = Seeding.Permutation(n, Seeding.Derive(options.Seed, 104729, epoch));
            double lossSum = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            foreach (var idx in ImageBatches.Chunks(n, options.BatchSize, order))
            {
                using var scope = NewDisposeScope();
                var ix = tensor(idx.Select(i => (long)i).ToArray());
                opt.zero_grad();
                var pred = head.forward(f.index_select(0, ix), l.index_select(0, ix));
                // Loss in units of the scale, so its size does not depend on how confident the ensemble is.
                var loss = ((pred - y.index_select(0, ix)) / scale).pow(2).mean();
                loss.backward();
                opt.step();
                lossSum += loss.item<float>() * idx.Length;
            }
            progress.Report(new TrainingStep("epistemic head", epoch, options.Epochs, (long)epoch * n, (long)options.Epochs * n,
                lossSum / n, n / clock.Elapsed.TotalSeconds));
        }
        head.eval();
        return head;
    }
}
