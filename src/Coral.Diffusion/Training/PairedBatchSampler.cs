using Coral.Data;

namespace Coral.Diffusion.Training;

/// <summary>How often each class is drawn into a training batch, for class sizes n_k.</summary>
public enum ClassBalance
{
    /// <summary>p_k ∝ n_k: the data as it is (what a shuffled loader gives).</summary>
    None,
    /// <summary>p_k ∝ √n_k: tail classes drawn more often without repeating their few images as often as full balance.</summary>
    SquareRoot,
    /// <summary>p_k = 1/K: every class equally often.</summary>
    Balanced,
}

/// <summary>
/// Draws training batches as B/2 same-class pairs: a class from the balance policy, then two different images of it
/// (one image twice only for a class that has one). Every class present in a batch therefore has at least two members,
/// so every SupCon anchor, tail ones included, has a positive. Batch <c>step</c> depends only on (seed, step), which keeps
/// resumed runs identical to uninterrupted ones.
/// </summary>
public sealed class PairedBatchSampler
{
    private readonly int[][] byClass;
    private readonly double[] cumulative;
    private readonly long seed;

    public PairedBatchSampler(IReadOnlyList<int> labels, int numClasses, ClassBalance balance, long seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var lists = Enumerable.Range(0, numClasses).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < labels.Count; i++) lists[labels[i]].Add(i);
        byClass = [.. lists.Select(l => l.ToArray())];
        if (byClass.All(c => c.Length == 0)) throw new DiffusionInputException("data", "no training images");
        Probabilities = ClassProbabilities([.. byClass.Select(c => c.Length)], balance);
        cumulative = new double[numClasses];
        double acc = 0;
        for (int k = 0; k < numClasses; k++) cumulative[k] = acc += Probabilities[k];
        this.seed = seed;
    }

    /// <summary>Probability that a pair is drawn from class k.</summary>
    public double[] Probabilities { get; }

    /// <summary>p_k ∝ n_k^α with α = 1, ½, 0; classes without images get 0.</summary>
    public static double[] ClassProbabilities(IReadOnlyList<int> counts, ClassBalance balance)
    {
        double alpha = balance switch { ClassBalance.None => 1.0, ClassBalance.SquareRoot => 0.5, _ => 0.0 };
        var w = counts.Select(n => n == 0 ? 0.0 : Math.Pow(n, alpha)).ToArray();
        double sum = w.Sum();
        return [.. w.Select(v => v / sum)];
    }

    /// <summary>Indices of batch <paramref name="step"/>; <paramref name="batchSize"/> must be even.</summary>
    public long[] Batch(int step, int batchSize)
    {
        if (batchSize < 2 || batchSize % 2 != 0) throw new DiffusionInputException("batch", $"must be even and ≥ 2 (batches are same-class pairs), got {batchSize}");
        var rng = new SplitMix64((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)step);
        var idx = new long[batchSize];
        for (int p = 0; p < batchSize / 2; p++)
        {
            var members = byClass[PickClass(rng.NextDouble())];
            int a = rng.NextInt(members.Length);
            int b = members.Length == 1 ? a : (a + 1 + rng.NextInt(members.Length - 1)) % members.Length;
            idx[2 * p] = members[a];
            idx[2 * p + 1] = members[b];
        }
        return idx;
    }

    private int PickClass(double u)
    {
        for (int k = 0; k < cumulative.Length; k++)
            if (u < cumulative[k] && byClass[k].Length > 0) return k;
        return Array.FindLastIndex(byClass, c => c.Length > 0);   // u at the rounding edge of 1.0
    }
}
