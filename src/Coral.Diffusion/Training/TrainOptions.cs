using Coral.Diffusion.Contrastive;
using Coral.Diffusion.Networks;
using Coral.Diffusion.Schedule;

namespace Coral.Diffusion.Training;

public enum OptimizerKind { Adam, AdamW }

/// <summary>Everything that defines a training run. Saved in the checkpoint; a resume must match it.</summary>
public sealed record TrainOptions
{
    public int Steps { get; init; } = 2000;
    public int BatchSize { get; init; } = 64;
    /// <summary>
    /// Class frequency in batches (drawn as same-class pairs). Balanced by default: on Fashion-MNIST-LT ρ = 0.01 the
    /// shuffled (None) recipe never learned the tail classes; see docs/results/diffusion-coral.md for the measurement.
    /// </summary>
    public ClassBalance Balance { get; init; } = ClassBalance.Balanced;
    public double LearningRate { get; init; } = 2e-4;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    public double WeightDecay { get; init; }
    public int WarmupSteps { get; init; } = 100;
    public double GradClip { get; init; } = 1.0;
    /// <summary>EMA decay; the effective decay ramps up as min(d, (1+s)/(10+s)) so short runs still get a useful average.</summary>
    public double EmaDecay { get; init; } = 0.999;
    /// <summary>Probability of replacing the label by the null class (classifier-free guidance training).</summary>
    public double LabelDropProbability { get; init; } = 0.1;
    public int CheckpointEvery { get; init; } = 200;
    public int Seed { get; init; }
    public BetaSchedule Schedule { get; init; } = BetaSchedule.Linear;
    public int Timesteps { get; init; } = 1000;
    public UNetConfig Network { get; init; } = new();
    public CoralOptions Coral { get; init; } = new();

    public void Validate()
    {
        if (Steps < 1) throw new DiffusionInputException("steps", $"must be ≥ 1, got {Steps}");
        if (BatchSize < 2 || BatchSize % 2 != 0) throw new DiffusionInputException("batch", $"must be even and ≥ 2 (batches are same-class pairs), got {BatchSize}");
        if (LearningRate <= 0 || LearningRate > 1) throw new DiffusionInputException("lr", $"must be in (0, 1], got {LearningRate}");
        if (WarmupSteps < 0) throw new DiffusionInputException("warmup", $"must be ≥ 0, got {WarmupSteps}");
        if (GradClip <= 0) throw new DiffusionInputException("grad-clip", $"must be > 0, got {GradClip}");
        if (EmaDecay < 0 || EmaDecay >= 1) throw new DiffusionInputException("ema", $"must be in [0, 1), got {EmaDecay}");
        if (LabelDropProbability < 0 || LabelDropProbability >= 1) throw new DiffusionInputException("label-drop", $"must be in [0, 1), got {LabelDropProbability}");
        if (CheckpointEvery < 1) throw new DiffusionInputException("checkpoint-every", $"must be ≥ 1, got {CheckpointEvery}");
        Network.Validate();
        Coral.Validate();
    }

    public double LearningRateAt(int step) => WarmupSteps == 0 ? LearningRate : LearningRate * Math.Min(1.0, (step + 1.0) / WarmupSteps);
}

/// <summary>One progress report: step, loss parts, speed, time left.</summary>
public readonly record struct TrainProgress(int Step, int TotalSteps, double Loss, double DiffusionLoss, double CoralLoss, double ItersPerSecond, TimeSpan Eta);
