using TorchSharp;

namespace Coral.Ml.Common;

/// <summary>One place that seeds torch, so parameter initialisation is reproducible.</summary>
public static class Seeding
{
    public static void Set(long seed)
    {
        TorchRuntime.EnsureLoaded();
        torch.manual_seed(seed);
    }

    /// <summary>A seed derived from a base seed and a few indices (member, epoch ...), stable across runs.</summary>
    public static int Derive(int seed, params int[] parts)
    {
        unchecked
        {
            uint h = 2166136261u ^ (uint)seed;
            foreach (var p in parts) h = (h ^ (uint)p) * 16777619u;
            return (int)(h & 0x7fffffff);
        }
    }

    /// <summary>A seeded permutation of 0..n-1.</summary>
    public static int[] Permutation(int n, int seed)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }
}
