namespace Coral.Diffusion.Evaluation;

/// <summary>Evaluation of one model's samples against real test images, judged by an independent classifier.</summary>
public sealed record GenerationReport
{
    public string Model { get; init; } = "";
    public string Arm { get; init; } = "";
    public int Seed { get; init; }
    public string Judge { get; init; } = "";
    public int SamplesPerClass { get; init; }
    public int RealPerClass { get; init; }
    public int Steps { get; init; }
    public double Eta { get; init; }
    public double GuidanceScale { get; init; }
    public int SampleSeed { get; init; }
    public int Resolution { get; init; }
    public int Channels { get; init; }
    public double FidOverall { get; init; }
    public double ConsistencyOverall { get; init; }
    public double[] FidPerClass { get; init; } = [];
    public double[] ConsistencyPerClass { get; init; } = [];
    /// <summary>The judge's accuracy on real test images (same shape as the samples): the ceiling for consistency.</summary>
    public double RealConsistencyOverall { get; init; }
    public double[] RealConsistencyPerClass { get; init; } = [];
    public string[] ClassNames { get; init; } = [];
    public string[] Groups { get; init; } = [];
    public Dictionary<string, double> FidGroupMean { get; init; } = [];
    public Dictionary<string, double> ConsistencyGroupMean { get; init; } = [];
    public double SampleSeconds { get; init; }
}

/// <summary>A ratio of two arms with its paired bootstrap 95 % interval and the per-seed ratios behind it.</summary>
public sealed record PairedRatio(double Ratio, double Low, double High, int Replicates, int Seeds, double[] PerSeed);

/// <summary>Mean and sample standard deviation over seeds.</summary>
public readonly record struct MeanSpread(double Mean, double Std, int N)
{
    public static MeanSpread Of(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double m = v.Average();
        double s = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1)) : 0;
        return new MeanSpread(m, s, v.Length);
    }

    public override string ToString() => $"{Mean:F2} ± {Std:F2}";
}

/// <summary>Per-arm aggregate over seeds (the experiment summary).</summary>
public sealed record ArmSummary
{
    public string Arm { get; init; } = "";
    public int Runs { get; init; }
    public MeanSpread FidOverall { get; init; }
    public Dictionary<string, MeanSpread> FidGroup { get; init; } = [];
    public MeanSpread Consistency { get; init; }
    public Dictionary<string, MeanSpread> ConsistencyGroup { get; init; } = [];
    public MeanSpread[] FidPerClass { get; init; } = [];

    public static ArmSummary Of(string arm, IReadOnlyList<GenerationReport> runs)
    {
        var groups = runs[0].FidGroupMean.Keys;
        return new ArmSummary
        {
            Arm = arm, Runs = runs.Count,
            FidOverall = MeanSpread.Of(runs.Select(r => r.FidOverall)),
            Consistency = MeanSpread.Of(runs.Select(r => r.ConsistencyOverall)),
            FidGroup = groups.ToDictionary(g => g, g => MeanSpread.Of(runs.Select(r => r.FidGroupMean[g]))),
            ConsistencyGroup = groups.ToDictionary(g => g, g => MeanSpread.Of(runs.Select(r => r.ConsistencyGroupMean[g]))),
            FidPerClass = [.. Enumerable.Range(0, runs[0].FidPerClass.Length).Select(k => MeanSpread.Of(runs.Select(r => r.FidPerClass[k])))],
        };
    }
}
