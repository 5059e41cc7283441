using System.Diagnostics;
using System.Text.Json;
using Coral.Diffusion.Contrastive;
using Coral.Diffusion.Networks;
using Coral.Diffusion.Schedule;
using Coral.Ml;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Coral.Diffusion.Training;

/// <summary>Saved training state besides the tensors: where we are and how we got here.</summary>
public sealed record TrainState
{
    public int Step { get; init; }
    public TrainOptions Options { get; init; } = new();
    public double Seconds { get; init; }
    public List<double[]> History { get; init; } = [];   // [step, loss, diffusion, coral] every log interval
}

/// <summary>
/// The training loop: ε-loss (+ CORAL SupCon on the bottleneck), label dropout for guidance, Adam/AdamW with
/// warmup, gradient clipping, EMA, atomic periodic checkpoints and resume. Each step reseeds torch from
/// (seed, step), so a resumed run continues exactly as an uninterrupted one would. That RNG is process-global:
/// do not run two trainers (or other seeded torch work) concurrently in one process.
/// </summary>
public sealed class DiffusionTrainer : IDisposable
{
    public const string CheckpointDir = "checkpoint";
    private const int LogEvery = 10;

    private readonly TrainOptions opt;
    private readonly Tensor images;
    private readonly Tensor labels;
    private readonly PairedBatchSampler sampler;
    private readonly string runDir;
    private readonly GaussianDiffusion diffusion;
    private readonly UNet model;
    private readonly UNet ema;
    private readonly ProjectionHead? head;
    private readonly OptimizerHelper optimizer;
    private readonly List<Parameter> trainable;
    private TrainState state;

    /// <param name="images">[N, C, R, R] in [-1, 1].</param>
    public DiffusionTrainer(TrainOptions options, Tensor images, int[] labels, string runDir)
    {
        TorchRuntime.EnsureLoaded();
        options.Validate();
        if (images.dim() != 4 || images.shape[0] != labels.Length)
            throw new DiffusionInputException("data", $"need [N,C,H,W] images with one label each, got shape [{string.Join(",", images.shape)}] and {labels.Length} labels");
        if (images.shape[1] != options.Network.ImageChannels || images.shape[2] != options.Network.Resolution)
            throw new DiffusionInputException("data", $"images are {images.shape[1]}x{images.shape[2]}x{images.shape[3]}, the network expects {options.Network.ImageChannels}x{options.Network.Resolution}x{options.Network.Resolution}");
        foreach (var y in labels)
            if (y < 0 || y >= options.Network.NumClasses) throw new DiffusionInputException("data", $"label {y} is outside 0..{options.Network.NumClasses - 1}");
        opt = options;
        this.images = images;
        this.labels = tensor(labels.Select(l => (long)l).ToArray());
        sampler = new PairedBatchSampler(labels, options.Network.NumClasses, options.Balance, options.Seed);
        this.runDir = runDir;
        diffusion = new GaussianDiffusion(options.Schedule, options.Timesteps);

        manual_seed(options.Seed);
        model = new UNet(options.Network);
        ema = new UNet(options.Network);
        CopyInto(ema, model);
        ema.eval();
        head = options.Coral.Enabled ? new ProjectionHead(options.Network.MiddleChannels, options.Coral.ProjectionDim) : null;
        trainable = [.. model.parameters()];
        if (head is not null) trainable.AddRange(head.parameters());
        optimizer = options.Optimizer == OptimizerKind.AdamW
            ? optim.AdamW(trainable, options.LearningRate, weight_decay: options.WeightDecay)
            : optim.Adam(trainable, options.LearningRate, weight_decay: options.WeightDecay);
        state = new TrainState { Options = options };
        TryResume();
    }

    public int Step => state.Step;
    public UNet Model => model;
    public UNet Ema => ema;
    public ProjectionHead? Head => head;
    public TrainState State => state;

    /// <summary>Trains until <see cref="TrainOptions.Steps"/> (or cancellation), checkpointing along the way.</summary>
    public TrainState Run(IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
    {
        model.train();
        head?.train();
        var clock = Stopwatch.StartNew();
        double baseSeconds = state.Seconds;
        int startStep = state.Step;
        double sumL = 0, sumD = 0, sumC = 0; int n = 0;
        while (state.Step < opt.Steps && !cancel.IsCancellationRequested)
        {
            var (l, d, c) = TrainStep(state.Step);
            sumL += l; sumD += d; sumC += c; n++;
            state = state with { Step = state.Step + 1, Seconds = baseSeconds + clock.Elapsed.TotalSeconds };
            if (state.Step % LogEvery == 0 || state.Step == opt.Steps)
            {
                state.History.Add([state.Step, sumL / n, sumD / n, sumC / n]);
                double rate = (state.Step - startStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                progress?.Report(new TrainProgress(state.Step, opt.Steps, sumL / n, sumD / n, sumC / n, rate,
                    TimeSpan.FromSeconds((opt.Steps - state.Step) / Math.Max(1e-9, rate))));
                sumL = sumD = sumC = 0; n = 0;
            }
            if (state.Step % opt.CheckpointEvery == 0 || state.Step == opt.Steps) SaveCheckpoint();
        }
        // Ctrl-C: keep the work done since the last periodic checkpoint.
        if (cancel.IsCancellationRequested && state.Step > startStep && state.Step % opt.CheckpointEvery != 0) SaveCheckpoint();
        return state;
    }

    /// <summary>One optimisation step; returns (total, diffusion, CORAL) loss values.</summary>
    public (double Loss, double Diffusion, double Coral) TrainStep(int step)
    {
        using var scope = NewDisposeScope();
        manual_seed(opt.Seed * 1_000_003L + step);
        int b = opt.BatchSize;
        var idx = tensor(sampler.Batch(step, b));
        var x0 = images.index_select(0, idx);
        var y = labels.index_select(0, idx);
        var t = randint(0, opt.Timesteps, [b], dtype: ScalarType.Int64);
        var noise = randn_like(x0);
        var dropped = rand(b).lt(opt.LabelDropProbability);
        var yIn = where(dropped, full_like(y, model.NullLabel), y);
        var xt = diffusion.QSample(x0, t, noise);

        var outp = model.Forward(xt, t, yIn);
        var lossDiff = GaussianDiffusion.EpsilonLoss(outp.Epsilon, noise).mean();
        var loss = lossDiff;
        double coralValue = 0;
        if (head is not null)
        {
            var z = head.call(outp.Middle);
            var lambda = opt.Coral.ExtraScale * opt.Coral.Weight * ((1.0 - t.to(ScalarType.Float32) / opt.Timesteps) / opt.Coral.TimeTemperature).exp();
            // The public code averages λ over the batch: one weight per step, nearly constant in t.
            if (opt.Coral.Reduction == LambdaReduction.BatchMean) lambda = lambda.mean().expand(b);
            var lossCoral = SupConLoss.Weighted(z, y, dropped.logical_not(), lambda, opt.Coral.Temperature);
            loss = lossDiff + lossCoral;
            coralValue = lossCoral.item<float>();
        }
        optimizer.zero_grad();
        loss.backward();
        nn.utils.clip_grad_norm_(trainable, opt.GradClip);
        foreach (var g in optimizer.ParamGroups) g.LearningRate = opt.LearningRateAt(step);
        optimizer.step();
        UpdateEma(step);
        return (loss.item<float>(), lossDiff.item<float>(), coralValue);
    }

    private void UpdateEma(int step)
    {
        double d = Math.Min(opt.EmaDecay, (1.0 + step) / (10.0 + step));
        using var noGrad = no_grad();
        foreach (var (e, p) in ema.parameters().Zip(model.parameters()))
            e.mul_(d).add_(p.detach(), alpha: 1 - d);
    }

    private static void CopyInto(UNet target, UNet source)
    {
        using var noGrad = no_grad();
        foreach (var (e, p) in target.parameters().Zip(source.parameters())) e.copy_(p);
    }

    /// <summary>Writes the checkpoint to a temporary folder and swaps it in, so a kill never leaves a half-written one.</summary>
    public void SaveCheckpoint()
    {
        string final = Path.Combine(runDir, CheckpointDir), tmp = final + ".tmp", old = final + ".old";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        WeightsFile.Save(model, Path.Combine(tmp, "model.bin"), half: false);
        WeightsFile.Save(ema, Path.Combine(tmp, "ema.bin"), half: false);
        if (head is not null) WeightsFile.Save(head, Path.Combine(tmp, "head.bin"), half: false);
        optimizer.save_state_dict(Path.Combine(tmp, "optimizer.bin"));
        File.WriteAllText(Path.Combine(tmp, "state.json"), JsonSerializer.Serialize(state, DiffusionModelCard.Json));
        if (Directory.Exists(old)) Directory.Delete(old, true);
        if (Directory.Exists(final)) Directory.Move(final, old);
        Directory.Move(tmp, final);
        if (Directory.Exists(old)) Directory.Delete(old, true);
    }

    private void TryResume()
    {
        string dir = Path.Combine(runDir, CheckpointDir);
        // A kill between the two renames leaves only ".old": it is complete, so use it.
        if (!Directory.Exists(dir) && Directory.Exists(dir + ".old")) Directory.Move(dir + ".old", dir);
        string statePath = Path.Combine(dir, "state.json");
        if (!File.Exists(statePath)) return;
        var saved = JsonSerializer.Deserialize<TrainState>(File.ReadAllText(statePath), DiffusionModelCard.Json)
            ?? throw new DiffusionInputException(statePath, "empty checkpoint state");
        var (sn, on) = (saved.Options.Network, opt.Network);
        if (sn.ImageChannels != on.ImageChannels || sn.Resolution != on.Resolution)
            throw new DiffusionInputException(runDir, $"holds a checkpoint for {sn.ImageChannels}x{sn.Resolution}x{sn.Resolution} images, the data is {on.ImageChannels}x{on.Resolution}x{on.Resolution}; use a new --out folder");
        string a = JsonSerializer.Serialize(saved.Options with { Steps = 0, CheckpointEvery = 0 }, DiffusionModelCard.Json);
        string b = JsonSerializer.Serialize(opt with { Steps = 0, CheckpointEvery = 0 }, DiffusionModelCard.Json);
        if (a != b) throw new DiffusionInputException(runDir, "holds a checkpoint trained with different options; use a new --out folder or the same options");
        WeightsFile.Load(model, Path.Combine(dir, "model.bin"));
        WeightsFile.Load(ema, Path.Combine(dir, "ema.bin"));
        if (head is not null) WeightsFile.Load(head, Path.Combine(dir, "head.bin"));
        optimizer.load_state_dict(Path.Combine(dir, "optimizer.bin"));
        state = saved with { Options = opt };
    }

    public void Dispose()
    {
        model.Dispose();
        ema.Dispose();
        head?.Dispose();
        labels.Dispose();
    }
}
