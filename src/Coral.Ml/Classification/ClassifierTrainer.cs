using System.Diagnostics;
using System.Text.Json.Nodes;
using Coral.Data;
using Coral.Ml.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Classification;

public sealed record TrainOptions
{
    public int Epochs { get; init; } = 4;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 2e-3;
    public int Seed { get; init; }
    /// <summary>Folder for per-epoch checkpoints (weights + optimizer state); null = none.</summary>
    public string? CheckpointDir { get; init; }
    /// <summary>Continue from the checkpoints in <see cref="CheckpointDir"/> when present.</summary>
    public bool Resume { get; init; }
    /// <summary>Train on <see cref="SamplerDegradations"/> of the images (the judge of generated images).</summary>
    public bool Degrade { get; init; }
    /// <summary>τ of the logit-adjusted loss (<see cref="ClassificationMath.LogitAdjustment"/>); 0 = plain cross-entropy.</summary>
    public double LogitAdjustment { get; init; }
}

/// <summary>
/// Trains one ensemble member with Adam and a cosine learning-rate decay. After every epoch it writes
/// weights and optimizer state, so an interrupted run resumes at the next epoch with the same data order
/// (the shuffle depends only on seed, member and epoch).
/// </summary>
public static class ClassifierTrainer
{
    public static SmallCnn TrainMember(LabeledImages data, CnnConfig config, TrainOptions options, int member, ITrainingProgress? progress = null)
    {
        TorchRuntime.EnsureLoaded();
        progress ??= NullProgress.Instance;
        if (data.Channels != config.Channels || data.Height != config.Height || data.Width != config.Width)
            throw new ArgumentException($"data is {data.Channels}x{data.Height}x{data.Width} but the network takes {config.Channels}x{config.Height}x{config.Width}");
        int memberSeed = Seeding.Derive(options.Seed, member);
        Seeding.Set(memberSeed);
        var model = new SmallCnn(config);
        var optimizer = optim.Adam(model.parameters(), lr: options.LearningRate);
        int startEpoch = 1;
        string? ckpt = options.CheckpointDir is null ? null : Path.Combine(options.CheckpointDir, $"member{member}.ckpt");
        string? optState = ckpt is null ? null : Path.ChangeExtension(ckpt, ".opt");
        if (options.Resume && ckpt is not null && File.Exists(ckpt) && File.Exists(optState))
        {
            var saved = TensorFile.Load(ckpt);
            var savedConfig = saved.Meta.Get<CnnConfig>("config", ckpt);
            if (savedConfig != config || saved.Meta.Get<int>("seed", ckpt) != options.Seed || saved.Meta.Get<int>("epochs", ckpt) != options.Epochs
                || (saved.Meta["logitAdjustment"]?.GetValue<double>() ?? 0) != options.LogitAdjustment)
                throw new CheckpointMismatchException(ckpt, "checkpoint was written for a different config, seed, epoch count or loss; delete it or change --checkpoints");
            TensorFile.LoadInto(saved, model, "");
            optimizer.load_state_dict(optState);
            startEpoch = saved.Meta.Get<int>("epoch", ckpt) + 1;
            progress.Message($"member {member}: resumed after epoch {startEpoch - 1} from {ckpt}");
        }

        using var adjust = ClassificationMath.LogitAdjustment(data.CountsPerClass(), options.LogitAdjustment);
        string task = $"member {member}";
        for (int epoch = startEpoch; epoch <= options.Epochs; epoch++)
        {
            model.train();
            // Cosine decay to 5% of the base rate, set per epoch so a resumed run follows the same schedule.
            double lr = options.LearningRate * (0.05 + 0.95 * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / options.Epochs)));
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            var order = Seeding.Permutation(data.Count, Seeding.Derive(options.Seed, member, epoch));
            var clock = Stopwatch.StartNew();
            double lossSum = 0; long seen = 0;
            foreach (var idx in ImageBatches.Chunks(data.Count, options.BatchSize, order))
            {
                using var scope = NewDisposeScope();
                var x = ImageBatches.Images(data, idx);
                if (options.Degrade) x = SamplerDegradations.Apply(x);
                var y = ImageBatches.Labels(data, idx);
                optimizer.zero_grad();
                var loss = ClassificationMath.CrossEntropy(model.forward(x), y, adjust);
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>() * idx.Length;
                seen += idx.Length;
                progress.Report(new TrainingStep(task, epoch, options.Epochs, (long)(epoch - 1) * data.Count + seen,
                    (long)options.Epochs * data.Count, lossSum / seen, seen / clock.Elapsed.TotalSeconds));
            }
            if (ckpt is not null)
            {
                var meta = new JsonObject
                {
                    ["config"] = Json.ToObject(config), ["seed"] = options.Seed, ["member"] = member,
                    ["epoch"] = epoch, ["epochs"] = options.Epochs, ["logitAdjustment"] = options.LogitAdjustment, ["loss"] = lossSum / Math.Max(1, seen),
                };
                TensorFile.Save(ckpt, meta, TensorFile.Named(model, ""));
                SaveOptimizer(optimizer, optState!);
            }
        }
        optimizer.Dispose();
        model.eval();
        return model;
    }

    private static void SaveOptimizer(TorchSharp.Modules.OptimizerHelper optimizer, string path)
    {
        // TorchSharp writes the optimizer state straight to a path: write beside, then rename (atomic).
        string tmp = path + $".{Environment.ProcessId}.tmp";
        optimizer.save_state_dict(tmp);
        File.Move(tmp, path, overwrite: true);
    }
}
