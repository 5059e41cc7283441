using System.CommandLine;
using System.Text.Json;
using Coral.Diffusion;
using Coral.Diffusion.Guidance;
using Coral.Imaging;
using Coral.Ml;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Signals;
using Spectre.Console;
using static TorchSharp.torch;

namespace Coral.Cli.Commands;

/// <summary>`coral generate`: Longtail-Guided images of one class from a flagged image (SDEdit) or from noise.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var image = new Option<string?>("--image") { Description = "flagged image to start from (SDEdit); omit to start from noise" };
        var cls = new Option<string?>("--class") { Description = "target class, index or name (default: the guiding classifier's prediction for --image)" };
        var count = new Option<int>("--count") { Description = "images to generate", DefaultValueFactory = _ => 8 };
        var seed = new Option<long>("--seed") { Description = "base seed; image i uses a seed derived from it", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string>("--out") { Description = "output folder (PNG + JSON record per image, batch.json)", DefaultValueFactory = _ => "runs/generate" };
        var cmd = new Command("generate", "Generate longtail images of a class with Longtail Guidance (PNG + JSON record per image).")
        {
            image, cls, count, seed, outDir,
        };
        var ltg = LtgCli.AddOptions(cmd);
        cmd.SetAction((parse, ct) => CliErrors.RunAsync(() => Task.Run(() =>
        {
            var options = ltg.Read(parse);
            OutputPaths.Folder(parse.GetValue(outDir)!, "--out");
            using var models = ltg.Load(parse);
            var gen = models.Generator;
            string? imagePath = parse.GetValue(image);
            using var scope = NewDisposeScope();
            Tensor? source = imagePath is null ? null : LtgCli.LoadImage(imagePath, gen);
            string? classText = parse.GetValue(cls);
            int classIndex = classText is not null ? gen.ResolveClass(classText)
                : source is not null ? gen.PredictClass(source)
                : throw new DiffusionInputException("--class", "required when no --image is given");
            var request = new LtgRequest
            {
                Source = source, SourceName = imagePath ?? "noise", ClassIndex = classIndex, Count = parse.GetValue(count),
                Options = options, Seed = parse.GetValue(seed),
            };
            var batch = LtgCli.RunWithProgress(gen, request, ct);
            string dir = parse.GetValue(outDir)!;
            Write(batch, dir, imagePath, models);
            AnsiConsole.MarkupLine($"[green]{batch.Records.Count} image(s)[/] of [bold]{Markup.Escape(gen.ClassNames[classIndex])}[/] → {Markup.Escape(dir)} " +
                $"in {batch.Seconds:F1} s; mean {Markup.Escape(options.GuidingSignalName)} {batch.MeanSignalAfter:G4}" +
                (batch.Records[0].SignalBefore is double b ? $" (source {b:G4})" : "") +
                $"; consistent {batch.Records.Count(r => r.Consistent)}/{batch.Records.Count}");
            return 0;
        }, ct)));
        return cmd;
    }

    /// <summary>Each PNG and JSON goes through a temporary name; batch.json is written last (the batch is complete once it exists).</summary>
    internal static void Write(LtgBatch batch, string dir, string? source, LtgModels models)
    {
        Directory.CreateDirectory(dir);
        for (int i = 0; i < batch.Images.Count; i++)
        {
            var r = batch.Records[i];
            string stem = $"ltg-{r.Index:D4}";
            AtomicFile.Write(Path.Combine(dir, stem + ".png"), s => ImageCodec.EncodePng(batch.Images[i], s));
            AtomicFile.WriteAllText(Path.Combine(dir, stem + ".json"), JsonSerializer.Serialize(r, LtgCli.Json));
        }
        var summary = new
        {
            source, diffusion = models.DiffusionPath, classifier = models.ClassifierPath, options = batch.Options,
            batch.StepsRun, guidedStepsPerChunk = batch.GuidedSteps, batch.Seconds, batch.ConsistentShare, batch.MeanSignalAfter,
            images = batch.Records.Select(r => $"ltg-{r.Index:D4}.png").ToArray(),
        };
        AtomicFile.WriteAllText(Path.Combine(dir, "batch.json"), JsonSerializer.Serialize(summary, LtgCli.Json));
    }
}

/// <summary>Models an LTG command needs, loaded once.</summary>
internal sealed class LtgModels(DiffusionModel diffusion, ClassifierBundle guide, string diffusionPath, string classifierPath) : IDisposable
{
    public DiffusionModel Diffusion { get; } = diffusion;
    public ClassifierBundle Guide { get; } = guide;
    public string DiffusionPath { get; } = diffusionPath;
    public string ClassifierPath { get; } = classifierPath;
    public LongtailGenerator Generator { get; } = new(diffusion, guide);
    public void Dispose() { Diffusion.Dispose(); Guide.Dispose(); }
}

/// <summary>The LTG options shared by generate, eval ltg and bench ltg, parsed in one place.</summary>
internal sealed class LtgCli
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    private static readonly LtgOptions Defaults = new();
    public required Option<string> Diffusion { get; init; }
    public required Option<string> Classifier { get; init; }
    public required Option<double> Weight { get; init; }
    public required Option<double> Strength { get; init; }
    public required Option<int> Steps { get; init; }
    public required Option<double> Eta { get; init; }
    public required Option<double> Cfg { get; init; }
    public required Option<string> Signal { get; init; }
    public required Option<GuidanceObjective> Objective { get; init; }
    public required Option<int> GuideEvery { get; init; }
    public required Option<double> GuideTMax { get; init; }
    public required Option<double> GuideTMin { get; init; }
    public required Option<GradientPath> Gradient { get; init; }
    public required Option<GradientNormalization> Normalization { get; init; }
    public required Option<double> Threshold { get; init; }
    public required Option<int> Batch { get; init; }
    public required Option<int> Oversample { get; init; }
    public required Option<CandidateFilter> Filter { get; init; }
    public required Option<double> MarginQuantile { get; init; }
    public required Option<int> MarginCalibration { get; init; }

    public static LtgCli AddOptions(Command cmd)
    {
        var o = new LtgCli
        {
            Diffusion = new Option<string>("--diffusion") { Description = "diffusion model folder (model-card.json + weights)", DefaultValueFactory = _ => "models/diffusion" },
            Classifier = new Option<string>("--classifier") { Description = "guiding classifier bundle (its signal is the one made longtail)", DefaultValueFactory = _ => "models/classifier" },
            Weight = new Option<double>("--weight") { Description = $"guidance weight w in [0, {LtgOptions.MaxWeight}] (0 = unguided)", DefaultValueFactory = _ => Defaults.Weight },
            Strength = new Option<double>("--strength") { Description = "SDEdit strength s in (0, 1] when starting from --image", DefaultValueFactory = _ => Defaults.Strength },
            Steps = new Option<int>("--steps") { Description = "DDIM steps over the full schedule", DefaultValueFactory = _ => Defaults.Steps },
            Eta = new Option<double>("--eta") { Description = "DDIM η (0 = deterministic)", DefaultValueFactory = _ => Defaults.Eta },
            Cfg = new Option<double>("--cfg") { Description = "classifier-free guidance ω", DefaultValueFactory = _ => Defaults.CfgScale },
            Signal = new Option<string>("--signal") { Description = "longtail signal: epistemic-head, mutual-information, entropy, energy", DefaultValueFactory = _ => LongtailSignals.NameOf(Defaults.Signal) },
            Objective = new Option<GuidanceObjective>("--objective") { Description = "what guidance pushes up: Longtail (the --signal) or ClassLoss (the guide ensemble's loss for the target class)", DefaultValueFactory = _ => Defaults.Objective },
            GuideEvery = new Option<int>("--guide-every") { Description = "guide every k-th step", DefaultValueFactory = _ => Defaults.GuideEvery },
            GuideTMax = new Option<double>("--guide-t-max") { Description = "guide only steps with timestep t ≤ this fraction of T (1 = all; low-noise steps only when smaller)", DefaultValueFactory = _ => Defaults.GuideTMax },
            GuideTMin = new Option<double>("--guide-t-min") { Description = "guide only steps with timestep t ≥ this fraction of T (0 = down to the last step)", DefaultValueFactory = _ => Defaults.GuideTMin },
            Gradient = new Option<GradientPath>("--gradient") { Description = "ThroughX0 (cheap) or ThroughDenoiser (exact, backprop through the U-Net)", DefaultValueFactory = _ => Defaults.Gradient },
            Normalization = new Option<GradientNormalization>("--normalization") { Description = "UnitRms (w = fraction of the noise scale) or None", DefaultValueFactory = _ => Defaults.Normalization },
            Threshold = new Option<double>("--consistency-threshold") { Description = "min ensemble probability of the target class; below it images are marked", DefaultValueFactory = _ => Defaults.ConsistencyThreshold },
            Batch = new Option<int>("--batch") { Description = "images sampled together", DefaultValueFactory = _ => Defaults.BatchSize },
            Oversample = new Option<int>("--oversample") { Description = $"candidates per kept image (1 = keep all, marked; 2..{LtgOptions.MaxOversample} = drop those the filter puts outside the class, keep the top by signal)", DefaultValueFactory = _ => Defaults.Oversample },
            Filter = new Option<CandidateFilter>("--filter") { Description = "who decides a candidate shows its class: DiffusionModel (its implicit classifier) or GuideEnsemble (p ≥ --consistency-threshold)", DefaultValueFactory = _ => Defaults.Filter },
            MarginQuantile = new Option<double>("--margin-quantile") { Description = "DiffusionModel filter: the smallest margin is this quantile of the margins of the class's unguided samples (0 = argmin only)", DefaultValueFactory = _ => Defaults.MarginQuantile },
            MarginCalibration = new Option<int>("--margin-calibration") { Description = "unguided samples per class behind the margin threshold (once per class)", DefaultValueFactory = _ => Defaults.MarginCalibration },
        };
        foreach (var opt in new Option[] { o.Diffusion, o.Classifier, o.Weight, o.Strength, o.Steps, o.Eta, o.Cfg, o.Signal, o.Objective, o.GuideEvery, o.GuideTMax, o.GuideTMin, o.Gradient, o.Normalization, o.Threshold, o.Batch, o.Oversample, o.Filter, o.MarginQuantile, o.MarginCalibration })
            cmd.Options.Add(opt);
        return o;
    }

    public LtgOptions Read(ParseResult p)
    {
        SignalKind signal;
        try { signal = LongtailSignals.Parse(p.GetValue(Signal)!); }
        catch (ArgumentException e) { throw new DiffusionInputException("--signal", Bare(e)); }
        var o = new LtgOptions
        {
            Weight = p.GetValue(Weight), Strength = p.GetValue(Strength), Steps = p.GetValue(Steps), Eta = p.GetValue(Eta),
            CfgScale = p.GetValue(Cfg), Signal = signal, Objective = p.GetValue(Objective), GuideEvery = p.GetValue(GuideEvery),
            GuideTMax = p.GetValue(GuideTMax), GuideTMin = p.GetValue(GuideTMin), Gradient = p.GetValue(Gradient),
            Normalization = p.GetValue(Normalization), ConsistencyThreshold = p.GetValue(Threshold), BatchSize = p.GetValue(Batch),
            Oversample = p.GetValue(Oversample), Filter = p.GetValue(Filter),
            MarginQuantile = p.GetValue(MarginQuantile), MarginCalibration = p.GetValue(MarginCalibration),
        };
        try { o.Validate(); }
        catch (DiffusionInputException e) { throw new DiffusionInputException("--" + e.Input, Bare(e)[(e.Input.Length + 2)..]); }
        return o;
    }

    /// <summary>The message without ArgumentException's " (Parameter 'x')" suffix (the rethrow names the option itself).</summary>
    private static string Bare(ArgumentException e) =>
        e.ParamName is { } p && e.Message.EndsWith($" (Parameter '{p}')", StringComparison.Ordinal) ? e.Message[..^($" (Parameter '{p}')".Length)] : e.Message;

    public LtgModels Load(ParseResult p)
    {
        TorchRuntime.EnsureLoaded();
        string d = p.GetValue(Diffusion)!, c = p.GetValue(Classifier)!;
        if (!Directory.Exists(d) && !File.Exists(d)) throw new DirectoryNotFoundException($"--diffusion: {d} does not exist (train one with `coral train diffusion`)");
        if (!File.Exists(ClassifierBundle.ResolveFile(c))) throw new FileNotFoundException($"--classifier: {ClassifierBundle.ResolveFile(c)} does not exist (train one with `coral train classifier`)");
        var diffusion = DiffusionModel.Load(d);
        try { return new LtgModels(diffusion, ClassifierBundle.Load(c), d, c); }
        catch { diffusion.Dispose(); throw; }
    }

    /// <summary>Decodes an image file at the diffusion model's size → [C, H, W] in [0, 1]. Decode errors name the file.</summary>
    public static Tensor LoadImage(string path, LongtailGenerator gen)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--image: {path} does not exist", path);
        using var stream = File.OpenRead(path);
        return gen.DecodeSource(ImageCodec.ReadAllBounded(stream, ImageDecodeOptions.DefaultMaxBytes, path), path);
    }

    public static LtgBatch RunWithProgress(LongtailGenerator gen, LtgRequest request, CancellationToken ct, string label = "sampling")
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            int lastPct = -1;
            return gen.Generate(request, new SyncProgress(p =>
            {
                int pct = p.StepsTotal == 0 ? 100 : 100 * p.StepsDone / p.StepsTotal;
                if (pct / 25 != lastPct / 25) { lastPct = pct; Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {label} {pct}% ({p.ImagesDone}/{p.ImagesTotal} images)"); }
            }), ct);
        }
        LtgBatch? result = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(label, maxValue: 1);
                result = gen.Generate(request, new SyncProgress(p => { task.MaxValue = Math.Max(1, p.StepsTotal); task.Value = p.StepsDone; }), ct);
            });
        return result!;
    }

    /// <summary>Reports on the sampling thread (Progress&lt;T&gt; would post to the thread pool and reorder).</summary>
    private sealed class SyncProgress(Action<LtgProgress> onReport) : IProgress<LtgProgress>
    {
        public void Report(LtgProgress value) => onReport(value);
    }
}
