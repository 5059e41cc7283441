using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Coral.Ml.Classification;

/// <summary>Loss and accuracy math of the classifier (kept apart from the network and the loop).</summary>
public static class ClassificationMath
{
    /// <summary>Mean cross-entropy of logits [B, C] against integer labels [B].</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels) => F.cross_entropy(logits, labels);

    /// <summary>log π_k of class counts (<see cref="Coral.Data.LabeledImages.CountsPerClass"/>); a class without images counts as one.</summary>
    public static float[] LogPrior(IReadOnlyList<int> countsPerClass)
    {
        double total = countsPerClass.Sum(c => Math.Max(1, c));
        return [.. countsPerClass.Select(c => (float)Math.Log(Math.Max(1, c) / total))];
    }

    /// <summary>
    /// The offsets τ·log π of the logit-adjusted loss CE(z + τ·log π, y) (Menon et al. 2021), π the training counts:
    /// training against the prior leaves z free of it, the long-tail correction that needs no extra images. Null for τ = 0.
    /// </summary>
    public static Tensor? LogitAdjustment(IReadOnlyList<int> countsPerClass, double tau)
    {
        if (tau <= 0) return null;
        using var logPrior = tensor(LogPrior(countsPerClass));
        return logPrior.mul(tau);
    }

    /// <summary>Cross-entropy of logits shifted by <paramref name="adjustment"/> (<see cref="LogitAdjustment"/>; null = plain).</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, Tensor? adjustment) =>
        CrossEntropy(adjustment is null ? logits : logits + adjustment, labels);

    /// <summary>Accuracy per class (NaN for a class with no examples) and overall.</summary>
    public static (double Overall, double[] PerClass) Accuracy(IReadOnlyList<int> predicted, IReadOnlyList<int> labels, int numClasses)
    {
        if (predicted.Count != labels.Count) throw new ArgumentException($"{predicted.Count} predictions for {labels.Count} labels");
        var hit = new int[numClasses];
        var total = new int[numClasses];
        int all = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            total[labels[i]]++;
            if (predicted[i] == labels[i]) { hit[labels[i]]++; all++; }
        }
        var per = Enumerable.Range(0, numClasses).Select(k => total[k] == 0 ? double.NaN : (double)hit[k] / total[k]).ToArray();
        return (labels.Count == 0 ? double.NaN : (double)all / labels.Count, per);
    }

    /// <summary>Row-wise argmax of a [B, C] array.</summary>
    public static int[] ArgMax(float[] rows, int numClasses)
    {
        var result = new int[rows.Length / numClasses];
        for (int i = 0; i < result.Length; i++)
        {
            int best = 0;
            for (int k = 1; k < numClasses; k++) if (rows[i * numClasses + k] > rows[i * numClasses + best]) best = k;
            result[i] = best;
        }
        return result;
    }
}
