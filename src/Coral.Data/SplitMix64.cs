namespace Coral.Data;

/// <summary>
/// A tiny seeded generator (SplitMix64). Used where a seed must give the same sequence on every machine and .NET
/// version (splits, training batches): System.Random's seeded sequence is not a documented contract.
/// </summary>
public struct SplitMix64(ulong seed)
{
    private ulong state = seed;

    public ulong Next()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform integer in [0, n) by multiply-high (no modulo bias worth mentioning at these n, no slow division).</summary>
    public int NextInt(int n) => (int)Math.BigMul(Next(), (ulong)n, out _);

    /// <summary>Uniform double in [0, 1) from the top 53 bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
