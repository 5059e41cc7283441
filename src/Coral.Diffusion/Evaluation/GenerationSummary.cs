namespace Coral.Diffusion.Evaluation;

/// <summary>The machine-readable verdict of the CORAL vs DDPM experiment (issue targets, met or missed as measured).</summary>
public sealed record GenerationVerdict
{
    public int Resolution { get; init; }
    public int Channels { get; init; }
    public string Judge { get; init; } = "";
    public string JudgeSha256 { get; init; } = "";
    public int SeedsPerArm { get; init; }
    public double? TailFidRatioCoralOverDdpm { get; init; }
    public double? TailFidRatioLow95 { get; init; }
    public double? TailFidRatioHigh95 { get; init; }
    public string TailFidRatioInterval { get; init; } = "";
    public double[] TailFidRatioPerSeed { get; init; } = [];
    public bool? TailFidTargetMet { get; init; }
    /// <summary>Lowest judge consistency over the tail classes (shipped arm, mean over seeds), unguided, from noise.</summary>
    public double MinTailClassConsistencyUnguided { get; init; }
    public string MinTailClassConsistencyArm { get; init; } = "";
    public bool TailConsistencyTargetMet { get; init; }
}

public static class GenerationSummary
{
    public const double TailFidRatioTarget = 0.90;
    public const double TailConsistencyTarget = 0.85;
    public const string ShippedArm = "CORAL";

    /// <summary>Per-arm summaries and the verdict; the FID ratio needs both a CORAL and a DDPM arm with a shared seed.</summary>
    public static (List<ArmSummary> Arms, GenerationVerdict Verdict) Of(GenerationEvaluator evaluator, IReadOnlyList<GenerationReport> reports, string judgeSha256)
    {
        var byArm = reports.GroupBy(r => r.Arm).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.OrderBy(r => r.Seed).ToList());
        var arms = byArm.Select(kv => ArmSummary.Of(kv.Key, kv.Value)).ToList();
        string shipped = byArm.ContainsKey(ShippedArm) ? ShippedArm : byArm.Keys.First();
        var runs = byArm[shipped];
        var tail = Enumerable.Range(0, runs[0].Groups.Length).Where(c => runs[0].Groups[c] == "Tail").ToArray();
        double minTail = tail.Min(c => runs.Average(r => r.ConsistencyPerClass[c]));
        PairedRatio? ratio = byArm.TryGetValue("CORAL", out var coral) && byArm.TryGetValue("DDPM", out var ddpm)
            && coral.Select(r => r.Seed).Intersect(ddpm.Select(r => r.Seed)).Any()
            ? evaluator.TailFidRatio(coral, ddpm) : null;
        var verdict = new GenerationVerdict
        {
            Resolution = runs[0].Resolution, Channels = runs[0].Channels, Judge = runs[0].Judge, JudgeSha256 = judgeSha256,
            SeedsPerArm = byArm.Values.Min(v => v.Count),
            TailFidRatioCoralOverDdpm = ratio?.Ratio, TailFidRatioLow95 = ratio?.Low, TailFidRatioHigh95 = ratio?.High,
            TailFidRatioInterval = ratio is null ? "no CORAL and DDPM runs with a shared seed"
                : $"paired bootstrap over samples and real tail images ({ratio.Replicates} replicates, {ratio.Seeds} seed pair(s)); training-seed spread in tailFidRatioPerSeed",
            TailFidRatioPerSeed = ratio?.PerSeed ?? [],
            // Met: at least 10 % lower on average, and the interval excludes "no difference".
            TailFidTargetMet = ratio is null ? null : ratio.Ratio <= TailFidRatioTarget && ratio.High < 1.0,
            MinTailClassConsistencyUnguided = minTail, MinTailClassConsistencyArm = shipped,
            TailConsistencyTargetMet = minTail >= TailConsistencyTarget,
        };
        return (arms, verdict);
    }
}
