using System.CommandLine;
using Coral.Data;
using Coral.Diffusion;
using Coral.Diffusion.Contrastive;
using Coral.Diffusion.Networks;
using Coral.Diffusion.Schedule;
using Coral.Diffusion.Training;
using Coral.Ml;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral train diffusion`: class-conditional DDPM (optionally with CORAL) on a long-tailed Fashion-MNIST split.</summary>
public static class TrainDiffusionCommand
{
    public static Command Create()
    {
        var data = new DataCliOptions();
        var splitSeed = new Option<int>("--split-seed") { Description = "seed of the long-tailed subsampling (same data for every run)", DefaultValueFactory = _ => 0 };
        var coral = new Option<bool>("--coral") { Description = "add the CORAL SupCon loss on the bottleneck (off: plain DDPM)", DefaultValueFactory = _ => false };
        var steps = new Option<int>("--steps") { Description = "optimisation steps", DefaultValueFactory = _ => 2000 };
        var batch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 64 };
        var seed = new Option<int>("--seed") { Description = "training seed (init, batches, noise)", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string>("--out") { Description = "run folder: checkpoint/ (resumed if present) and model/", Required = true };
        var balance = new Option<ClassBalance>("--balance") { Description = "class frequency in batches: None (as the data), SquareRoot, Balanced", DefaultValueFactory = _ => new TrainOptions().Balance };
        var channels = new Option<int>("--channels") { Description = "U-Net base channels", DefaultValueFactory = _ => 32 };
        var mult = new Option<string>("--mult") { Description = "channel multipliers per level, comma-separated", DefaultValueFactory = _ => "1,2,2" };
        var resBlocks = new Option<int>("--res-blocks") { Description = "ResBlocks per level", DefaultValueFactory = _ => 1 };
        var dropout = new Option<double>("--dropout") { DefaultValueFactory = _ => 0.1 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 2e-4 };
        var optimizer = new Option<OptimizerKind>("--optimizer") { DefaultValueFactory = _ => OptimizerKind.Adam };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 0.0 };
        var warmup = new Option<int>("--warmup") { Description = "linear learning-rate warmup steps", DefaultValueFactory = _ => 100 };
        var clip = new Option<double>("--grad-clip") { DefaultValueFactory = _ => 1.0 };
        var emaDecay = new Option<double>("--ema") { Description = "EMA decay (ramped up early)", DefaultValueFactory = _ => 0.999 };
        var labelDrop = new Option<double>("--label-drop") { Description = "label dropout for classifier-free guidance", DefaultValueFactory = _ => 0.1 };
        var ckptEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 200 };
        var schedule = new Option<BetaSchedule>("--schedule") { DefaultValueFactory = _ => BetaSchedule.Linear };
        var timesteps = new Option<int>("--timesteps") { DefaultValueFactory = _ => 1000 };
        var coralDefaults = new CoralOptions();
        var cw = new Option<double>("--coral-weight") { Description = "w in λ(t) = w·exp((1 − t/T)/τ_r)", DefaultValueFactory = _ => coralDefaults.Weight };
        var ctau = new Option<double>("--coral-tau") { Description = "SupCon temperature τ", DefaultValueFactory = _ => coralDefaults.Temperature };
        var ctaur = new Option<double>("--coral-tau-r") { Description = "τ_r of λ(t)", DefaultValueFactory = _ => coralDefaults.TimeTemperature };
        var cscale = new Option<bool>("--coral-scale-by-tau") { Description = "multiply the SupCon term by τ once more (the public code does)", DefaultValueFactory = _ => coralDefaults.ScaleByTemperature };
        var creduce = new Option<LambdaReduction>("--coral-reduction") { Description = "BatchMean (public code) or PerSample (paper's formula)", DefaultValueFactory = _ => coralDefaults.Reduction };
        var cdim = new Option<int>("--coral-proj-dim") { Description = "projection head output size", DefaultValueFactory = _ => coralDefaults.ProjectionDim };

        var cmd = new Command("diffusion", "Train a class-conditional diffusion model (CORAL with --coral) on your images at their own size.")
        {
            splitSeed, coral, steps, batch, seed, outDir, channels, mult, resBlocks, dropout, lr,
            optimizer, weightDecay, warmup, clip, emaDecay, labelDrop, ckptEvery, schedule, timesteps, cw, ctau, ctaur, cscale, creduce, cdim, balance,
        };
        data.AddTo(cmd);
        cmd.SetAction((parse, ct) => CliErrors.RunAsync(() => Task.Run(() =>
        {
            TorchRuntime.EnsureLoaded();
            var ds = DataSource.Load(data.Read(parse, parse.GetValue(splitSeed)));
            double rho = parse.GetValue(data.Imbalance) ?? ds.DefaultImbalance;
            var set = rho >= 1 ? ds.Train : LongTailSplit.Apply(ds.Train, rho, parse.GetValue(splitSeed));
            var options = new TrainOptions
            {
                Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), Seed = parse.GetValue(seed), Balance = parse.GetValue(balance),
                LearningRate = parse.GetValue(lr), Optimizer = parse.GetValue(optimizer), WeightDecay = parse.GetValue(weightDecay),
                WarmupSteps = parse.GetValue(warmup), GradClip = parse.GetValue(clip), EmaDecay = parse.GetValue(emaDecay),
                LabelDropProbability = parse.GetValue(labelDrop), CheckpointEvery = parse.GetValue(ckptEvery),
                Schedule = parse.GetValue(schedule), Timesteps = parse.GetValue(timesteps),
                Network = new UNetConfig
                {
                    ImageChannels = set.Channels, Resolution = NativeSize(set), BaseChannels = parse.GetValue(channels),
                    Multipliers = ParseMultipliers(parse.GetValue(mult)!), ResBlocksPerLevel = parse.GetValue(resBlocks),
                    Dropout = parse.GetValue(dropout), NumClasses = set.NumClasses,
                },
                Coral = new CoralOptions
                {
                    Enabled = parse.GetValue(coral), Weight = parse.GetValue(cw), Temperature = parse.GetValue(ctau),
                    TimeTemperature = parse.GetValue(ctaur), ScaleByTemperature = parse.GetValue(cscale),
                    Reduction = parse.GetValue(creduce), ProjectionDim = parse.GetValue(cdim),
                },
            };
            options.Validate();
            string run = parse.GetValue(outDir)!;
            Directory.CreateDirectory(run);
            using var images = TrainingData.ToTensor(set, options.Network.Resolution);
            using var trainer = new DiffusionTrainer(options, images, set.Labels, run);
            string arm = options.Coral.Enabled ? "CORAL" : "plain DDPM";
            AnsiConsole.MarkupLine($"[bold]{arm}[/] on {set.Count} images of {Markup.Escape(ds.Name)} (ρ={rho}), {trainer.Model.ParameterCount():N0} parameters, " +
                $"{options.Network.ImageChannels}x{options.Network.Resolution}x{options.Network.Resolution}, {options.Balance} batches, " +
                $"CORAL effective weight {(options.Coral.Enabled ? options.Coral.EffectiveWeight : 0):F3}; {(trainer.Step > 0 ? $"resuming at step {trainer.Step}" : "from scratch")} → {Markup.Escape(run)}");
            var finalState = RunWithProgress(trainer, options.Steps, ct);
            if (finalState.Step < options.Steps) { AnsiConsole.MarkupLine($"[yellow]stopped at step {finalState.Step}; rerun the same command to resume[/]"); return 1; }

            var last = finalState.History.Count > 0 ? finalState.History[^1] : [0, 0, 0, 0];
            var card = new DiffusionModelCard
            {
                Name = $"{ds.Name}{(rho < 1 ? $"-lt{rho}" : "")}-{(options.Coral.Enabled ? "coral" : "ddpm")}-{options.Balance.ToString().ToLowerInvariant()}-c{options.Network.BaseChannels}-s{options.Seed}",
                Network = options.Network, Schedule = options.Schedule, Timesteps = options.Timesteps,
                ClassNames = [.. set.ClassNames], Training = options, StepsTrained = finalState.Step, TrainSeconds = finalState.Seconds,
                Data = new Dictionary<string, object>
                {
                    ["dataset"] = ds.Description, ["imbalance"] = rho, ["splitSeed"] = parse.GetValue(splitSeed), ["shape"] = ds.Shape,
                    ["countsPerClass"] = set.CountsPerClass(), ["images"] = set.Count,
                },
                FinalLosses = new Dictionary<string, double> { ["loss"] = last[1], ["diffusion"] = last[2], ["coral"] = last[3] },
                CreatedUtc = DateTime.UtcNow.ToString("O"),
                IntendedUse = $"Class-conditional generation of images like {ds.Name}'s for the CoralFunctions generator and Longtail Guidance, at the data's own size ({ds.Shape}). EMA weights.",
                Limitations = $"Small CPU-trained model ({finalState.Step} steps); tail classes had only {set.CountsPerClass().Min()} training images. Not for any decision about people.",
            };
            DiffusionModel.Save(trainer.Ema, card, Path.Combine(run, "model"), half: true);
            AnsiConsole.MarkupLine($"[green]done[/]: {finalState.Step} steps in {finalState.Seconds / 60:F1} min; model → {Markup.Escape(Path.Combine(run, "model"))}");
            return 0;
        })));
        return cmd;
    }

    /// <summary>The data's own (square) size; non-square data needs an explicit --size.</summary>
    private static int NativeSize(LabeledImages set) => set.Height == set.Width ? set.Height
        : throw new DiffusionInputException("--size", $"the images are {set.Height}x{set.Width} (height x width); the U-Net works on squares, give --size");

    internal static int[] ParseMultipliers(string text)
    {
        try { return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse)]; }
        catch (FormatException) { throw new DiffusionInputException("--mult", $"'{text}' is not a comma-separated list of integers"); }
    }

    private static TrainState RunWithProgress(DiffusionTrainer trainer, int total, CancellationToken ct)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            // Logs (nohup, CI): a plain line every 50 steps, no control codes.
            return trainer.Run(new ActionProgress(p =>
            {
                if (p.Step % 50 == 0 || p.Step == p.TotalSteps)
                    Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} (diff {p.DiffusionLoss:F4} coral {p.CoralLoss:F4}) {p.ItersPerSecond:F2} it/s ETA {p.Eta:hh\\:mm\\:ss}");
            }), ct);
        }
        TrainState result = trainer.State;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("train", maxValue: total);
                task.Value = trainer.Step;
                result = trainer.Run(new ActionProgress(p =>
                {
                    task.Value = p.Step;
                    task.Description = $"step {p.Step} loss {p.Loss:F4} diff {p.DiffusionLoss:F4} coral {p.CoralLoss:F4} {p.ItersPerSecond:F2} it/s ETA {p.Eta:hh\\:mm\\:ss}";
                }), ct);
            });
        return result;
    }

    /// <summary>Reports on the training thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class ActionProgress(Action<TrainProgress> onReport) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => onReport(value);
    }
}
