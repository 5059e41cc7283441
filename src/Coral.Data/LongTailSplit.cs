namespace Coral.Data;

/// <summary>
/// Deterministic long-tailed subsampling, CIFAR-LT convention: class k keeps
/// n_k = floor(n_max · ρ^(k/(K−1))) images, where ρ = n_min/n_max and class 0 is the head.
/// </summary>
public static class LongTailSplit
{
    /// <summary>Target count for each class (at least 1, even when the formula floors to 0).</summary>
    public static int[] ClassCounts(int nMax, double imbalance, int numClasses)
    {
        if (nMax < 1) throw new ArgumentOutOfRangeException(nameof(nMax), nMax, "n_max must be at least 1");
        if (!(imbalance > 0 && imbalance <= 1))
            throw new ArgumentOutOfRangeException(nameof(imbalance), imbalance, "imbalance ρ must be in (0, 1]");
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "need at least one class");
        var counts = new int[numClasses];
        for (int k = 0; k < numClasses; k++)
        {
            double exponent = numClasses == 1 ? 0 : (double)k / (numClasses - 1);
            counts[k] = Math.Max(1, (int)Math.Floor(nMax * Math.Pow(imbalance, exponent) + 1e-9));
        }
        return counts;
    }

    /// <summary>
    /// Picks the first n_k images of each class after a seeded shuffle. The same seed gives the same
    /// indices on any machine and .NET version: the shuffle is our own (SplitMix64 + Fisher–Yates),
    /// because System.Random's seeded sequence is not a documented contract.
    /// </summary>
    public static LabeledImages Apply(LabeledImages full, double imbalance, int seed, int? nMax = null)
    {
        ArgumentNullException.ThrowIfNull(full);
        var available = full.CountsPerClass();
        int max = nMax ?? available.Max();
        if (max < 1) throw new ArgumentOutOfRangeException(nameof(nMax), max, "n_max must be at least 1");
        var wanted = ClassCounts(max, imbalance, full.NumClasses);
        for (int k = 0; k < wanted.Length; k++)
            if (wanted[k] > available[k])
                throw new ArgumentException($"class {k} ({full.ClassNames[k]}) needs {wanted[k]} images but the set has only {available[k]}");

        var order = Enumerable.Range(0, full.Count).ToArray();
        Shuffle(order, seed);
        var taken = new int[full.NumClasses];
        var keep = new List<int>(wanted.Sum());
        foreach (var i in order)
        {
            int y = full.Labels[i];
            if (taken[y] < wanted[y]) { taken[y]++; keep.Add(i); }
        }
        keep.Sort(); // keep the source order so the subset is easy to reason about
        return full.Subset(keep);
    }

    private static void Shuffle(int[] items, int seed)
    {
        var rng = new SplitMix64((ulong)(uint)seed);
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>
    /// Head / middle / tail group of each class, by training count rank: the top third is head,
    /// the bottom third tail (for 10 classes: 3 head, 4 middle, 3 tail). Ties go to the lower class index
    /// first; with fewer than 3 classes every class is Middle.
    /// </summary>
    public static ClassGroup[] Groups(IReadOnlyList<int> countsPerClass)
    {
        ArgumentNullException.ThrowIfNull(countsPerClass);
        int k = countsPerClass.Count;
        var ranked = Enumerable.Range(0, k).OrderByDescending(c => countsPerClass[c]).ThenBy(c => c).ToArray();
        int third = k / 3;
        var groups = new ClassGroup[k];
        for (int r = 0; r < k; r++)
            groups[ranked[r]] = r < third ? ClassGroup.Head : r >= k - third ? ClassGroup.Tail : ClassGroup.Middle;
        return groups;
    }
}

public enum ClassGroup { Head, Middle, Tail }
