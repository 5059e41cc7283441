using Coral.Imaging;
using static TorchSharp.torch;

namespace Coral.Diffusion.Guidance;

/// <summary>
/// One LTG batch request: N images of one class, from a flagged source image (SDEdit at
/// <see cref="LtgOptions.Strength"/>) or from pure noise when <see cref="Source"/> is null.
/// </summary>
public sealed record LtgRequest
{
    /// <summary>The flagged image in [0, 1], [C, H, W] or [1, C, H, W] at the diffusion model's size; null = start from noise.</summary>
    public Tensor? Source { get; init; }
    /// <summary>Name of the source (file, blob) for error messages and records.</summary>
    public string SourceName { get; init; } = "image";
    /// <summary>Target class (the scorer's prediction or given by the caller).</summary>
    public required int ClassIndex { get; init; }
    public required int Count { get; init; }
    public LtgOptions Options { get; init; } = new();
    /// <summary>Base seed; image i uses <see cref="LongtailGenerator.SeedFor"/>(Seed, i) unless <see cref="Seeds"/> is given.</summary>
    public long Seed { get; init; }
    /// <summary>Explicit per-image seeds (e.g. derived from a job id); length must equal <see cref="Count"/>.</summary>
    public IReadOnlyList<long>? Seeds { get; init; }
}

/// <summary>What is recorded for one generated image (written as JSON next to its PNG).</summary>
public sealed record LtgImageRecord(
    int Index,
    long Seed,
    int ClassIndex,
    string ClassName,
    double Weight,
    double Strength,
    bool FromSource,
    string Signal,
    /// <summary>Signal of the source image (null when starting from noise).</summary>
    double? SignalBefore,
    double SignalAfter,
    /// <summary>Ensemble-mean class probabilities of the guiding classifier.</summary>
    float[] ClassProbabilities,
    int PredictedClass,
    double TargetProbability,
    bool Consistent)
{
    /// <summary>Kept in the batch (false: dropped by the filter or below the top N), and why.</summary>
    public bool Kept { get; init; } = true;
    public string Reason { get; init; } = "";
    /// <summary>Rank among in-class candidates by the guiding signal (1 = highest; 0 = not ranked).</summary>
    public int Rank { get; init; }
    /// <summary>The guiding signal of the same seed sampled without guidance: the rise from guidance is SignalAfter − this.</summary>
    public double? SignalUnguided { get; init; }
    /// <summary>A measure reported but never optimised (the ensemble's MI when the head guides), guided and unguided.</summary>
    public string? HeldOutSignal { get; init; }
    public double? HeldOutAfter { get; init; }
    public double? HeldOutUnguided { get; init; }
    /// <summary>The diffusion model's implicit classifier: its class and margin for the target (null when not the filter).</summary>
    public int? DiffusionClass { get; init; }
    public double? DiffusionMargin { get; init; }
    /// <summary>The smallest margin the class asks for (<see cref="LtgOptions.MarginQuantile"/> of its unguided samples; null: argmin only).</summary>
    public double? DiffusionMarginThreshold { get; init; }
    /// <summary>Whose verdict <c>Consistent</c> is: "diffusion-model" (implicit classifier) or "guide-ensemble".</summary>
    public string ConsistencyBy { get; init; } = "guide-ensemble";
}

/// <summary>A generated batch: images in [0, 1] at the diffusion model's size, records in the same order.</summary>
public sealed record LtgBatch(
    IReadOnlyList<ImageTensor> Images,
    IReadOnlyList<LtgImageRecord> Records,
    LtgOptions Options,
    int StepsRun,
    int GuidedSteps,
    double Seconds,
    /// <summary>Time inside the sampler for the guided candidates (guidance included; the unguided twin, scoring and copies excluded).</summary>
    double SamplingSeconds)
{
    /// <summary>Every candidate generated, kept or dropped, with its reason (the kept ones are <see cref="Records"/>).</summary>
    public IReadOnlyList<LtgImageRecord> Candidates { get; init; } = Records;

    public double ConsistentShare => Records.Count == 0 ? 0 : Records.Count(r => r.Consistent) / (double)Records.Count;
    public double MeanSignalAfter => Records.Count == 0 ? double.NaN : Records.Average(r => r.SignalAfter);
}
