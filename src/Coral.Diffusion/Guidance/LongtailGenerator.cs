using System.Diagnostics;
using Coral.Imaging;
using Coral.Ml;
using Coral.Ml.Classification;
using Coral.Ml.Signals;
using Coral.Diffusion.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Guidance;

/// <summary>Progress of a batch: sampling steps done out of the total for all chunks.</summary>
public readonly record struct LtgProgress(int StepsDone, int StepsTotal, int ImagesDone, int ImagesTotal);

/// <summary>
/// The generator's core: a flagged image (or none), a class, a count, options and a seed → images that the
/// guiding classifier finds longtail, each with its record (seed, weight, signal before/after, class
/// probabilities, consistency mark). Longtail Guidance rides on the DDIM sampler's per-step hook; this class
/// only prepares starts, applies <see cref="LongtailGuidance"/> in the hook and scores the results.
/// Not thread-safe (torch modules are shared); one Generate at a time.
/// </summary>
public sealed class LongtailGenerator
{
    public LongtailGenerator(DiffusionModel model, ClassifierBundle guide, IImageDecoder? decoder = null)
    {
        TorchRuntime.EnsureLoaded();
        // Pixel space: both networks must work at the same (native) shape; a latent model brings its own decoder.
        var (gc, gh, gw) = guide.InputShape;
        if (decoder is null && (model.Channels != gc || model.Resolution != gh || model.Resolution != gw))
            throw new DiffusionInputException("classifier", $"takes {gc}x{gh}x{gw} images but the diffusion model makes {model.Channels}x{model.Resolution}x{model.Resolution} ones; train both on data of one shape");
        if (model.NumClasses != guide.NumClasses)
            throw new DiffusionInputException("classifier", $"has {guide.NumClasses} classes but the diffusion model has {model.NumClasses}");
        Model = model;
        Guide = guide;
        Decoder = decoder ?? new PixelDecoder(guide.Config.Height, guide.Config.Width);
    }

    public DiffusionModel Model { get; }
    public ClassifierBundle Guide { get; }
    public IImageDecoder Decoder { get; }
    public IReadOnlyList<string> ClassNames => Guide.ClassNames;

    /// <summary>Per-image seed: the sampler's derivation, so w = 0 from noise reproduces <see cref="DdimSampler.Sample"/>.</summary>
    public static long SeedFor(long seed, int index) => SamplerCore.SeedFor(seed, index);

    /// <summary>A class given as an index ("3") or a name ("Dress", case-insensitive); unknown → error naming it.</summary>
    public int ResolveClass(string text)
    {
        if (int.TryParse(text, out int k))
        {
            if (k < 0 || k >= ClassNames.Count) throw new DiffusionInputException("class", $"{k} is not a class index (0..{ClassNames.Count - 1})");
            return k;
        }
        for (int i = 0; i < ClassNames.Count; i++)
            if (string.Equals(ClassNames[i], text.Trim(), StringComparison.OrdinalIgnoreCase)) return i;
        throw new DiffusionInputException("class", $"'{text}' is not a class (known: {string.Join(", ", ClassNames)})");
    }

    /// <summary>
    /// Decodes an encoded source image (PNG, JPEG, ...) at the diffusion model's size and channels → [C, H, W] in [0, 1].
    /// Undecodable input throws Coral.Imaging's typed <see cref="ImageDecodeException"/>, named by <paramref name="sourceName"/>.
    /// </summary>
    public Tensor DecodeSource(byte[] encoded, string sourceName, long maxBytes = ImageDecodeOptions.DefaultMaxBytes)
    {
        var im = ImageCodec.Decode(encoded, new ImageDecodeOptions
        {
            Width = Model.Resolution, Height = Model.Resolution, Channels = Model.Channels == 1 ? 1 : 3, MaxBytes = maxBytes,
        }, sourceName);
        return tensor(im.Data, [im.Channels, im.Height, im.Width]);
    }

    /// <summary>The guiding classifier's prediction for a source image in [0, 1] (when the caller gives no class).</summary>
    public int PredictClass(Tensor source)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var x = Decoder.Decode(ToModelSpace(CheckSource(source, "image")));
        return (int)Guide.MemberLogits(x).softmax(-1).mean([0]).argmax(-1).item<long>();
    }

    /// <summary>
    /// Generates <see cref="LtgOptions.Oversample"/>·Count candidates, measures each (guiding signal, held-out signal,
    /// the class verdict of <see cref="LtgOptions.Filter"/> beside the guide ensemble's probabilities; with <see cref="LtgOptions.MeasureUnguided"/> the same seed unguided too),
    /// drops candidates the filter does not place in the class (only when over-generating), and keeps the top
    /// Count by the guiding signal. Every candidate's record says whether it was kept and why.
    /// </summary>
    public LtgBatch Generate(LtgRequest request, IProgress<LtgProgress>? progress = null, CancellationToken ct = default)
    {
        var o = request.Options;
        o.Validate();
        if (request.Count < 1 || request.Count > LtgOptions.MaxCount)
            throw new DiffusionInputException("count", $"{request.Count} is out of range [1, {LtgOptions.MaxCount}]");
        if (request.ClassIndex < 0 || request.ClassIndex >= ClassNames.Count)
            throw new DiffusionInputException("class", $"{request.ClassIndex} is not a class index (0..{ClassNames.Count - 1})");
        if (request.Seeds is { } given && given.Count != request.Count)
            throw new DiffusionInputException("seeds", $"{given.Count} seeds for {request.Count} images");
        if (!LongtailSignals.Available(Guide).Contains(o.Signal))
            throw new DiffusionInputException("signal", $"{LongtailSignals.NameOf(o.Signal)} is not available for this classifier (available: {string.Join(", ", LongtailSignals.Available(Guide).Select(LongtailSignals.NameOf))})");
        var baseSeeds = request.Seeds?.ToArray() ?? Enumerable.Range(0, request.Count).Select(i => SeedFor(request.Seed, i)).ToArray();
        int n = request.Count * o.Oversample;
        // Candidate j < Count keeps the request's seed j, so Oversample = 1 is exactly the plain batch.
        var seeds = Enumerable.Range(0, n).Select(j => j < request.Count ? baseSeeds[j] : SeedFor(baseSeeds[j % request.Count], 1000 + j / request.Count)).ToArray();
        var signal = GuidingSignal(o, request.ClassIndex);
        var heldOut = HeldOutSignal(o);
        var guidance = new LongtailGuidance(signal, Decoder, o, Model.Diffusion.Timesteps);
        bool twin = o.MeasureUnguided && o.Weight > 0;
        var clock = Stopwatch.StartNew();

        using var outer = NewDisposeScope();
        Tensor? source = request.Source is null ? null : ToModelSpace(CheckSource(request.Source, request.SourceName));
        double? before = null;
        if (source is not null)
        {
            using var s = NewDisposeScope();
            using var mode = inference_mode();
            before = signal.Compute(Decoder.Decode(source)).item<float>();
        }

        double? marginThreshold = MarginThreshold(request.ClassIndex, o, signal, ct);
        var plan = Timesteps(Model.Diffusion.Timesteps, o, source is not null);
        int chunks = (n + o.BatchSize - 1) / o.BatchSize;
        var progressState = new StepCounter(plan.Length * chunks * (twin ? 2 : 1), n, progress, ct);
        var sampling = Stopwatch.StartNew();
        var guidedRun = SampleAll(guidance, plan, source, request.ClassIndex, seeds, o, signal, heldOut, progressState, judgeClass: true);
        double samplingSeconds = sampling.Elapsed.TotalSeconds;   // the guided candidates only: the twin is measurement
        var unguidedRun = twin
            ? SampleAll(new LongtailGuidance(signal, Decoder, o with { Weight = 0 }, Model.Diffusion.Timesteps), plan, source, request.ClassIndex, seeds, o, signal, heldOut, progressState, judgeClass: false)
            : null;

        var candidates = new List<LtgImageRecord>(n);
        for (int j = 0; j < n; j++)
        {
            var v = guidedRun.Verdicts[j];
            var d = guidedRun.Implicit?[j];
            candidates.Add(new LtgImageRecord(j, seeds[j], request.ClassIndex, ClassNames[request.ClassIndex], o.Weight,
                source is null ? 0 : o.Strength, source is not null, signal.Name, before, guidedRun.Signal[j], v.Probabilities, v.PredictedClass,
                v.TargetProbability, d?.Passes(request.ClassIndex, marginThreshold) ?? v.Consistent)
            {
                ConsistencyBy = d is null ? "guide-ensemble" : "diffusion-model", DiffusionClass = d?.PredictedClass, DiffusionMargin = d?.TargetMargin,
                DiffusionMarginThreshold = d is null ? null : marginThreshold,
                SignalUnguided = unguidedRun?.Signal[j], HeldOutSignal = heldOut?.Name, HeldOutAfter = guidedRun.HeldOut?[j],
                HeldOutUnguided = unguidedRun?.HeldOut?[j],
            });
        }
        var (kept, all) = Select(candidates, request.Count, o);
        var images = kept.Select(r => guidedRun.Images[r.Index]).ToList();
        return new LtgBatch(images, kept, o, plan.Length, guidedRun.Guided / Math.Max(1, chunks), clock.Elapsed.TotalSeconds, samplingSeconds) { Candidates = all };
    }

    /// <summary>
    /// Without over-generation every candidate is kept (inconsistent ones marked: the reviewer decides). With it, the
    /// filter's verdict drops and the guiding signal ranks; kept images come in rank order.
    /// </summary>
    private (List<LtgImageRecord> Kept, List<LtgImageRecord> All) Select(List<LtgImageRecord> candidates, int count, LtgOptions o)
    {
        string Why(LtgImageRecord r) => r.DiffusionClass is int dc
            ? dc == r.ClassIndex
                ? $"the diffusion model places it in {ClassNames[dc]} by a margin of {r.DiffusionMargin:G3}, below the class's {r.DiffusionMarginThreshold:G3} (quantile {o.MarginQuantile:G3} of {o.MarginCalibration} unguided samples)"
                : $"the diffusion model places it in {ClassNames[dc]} (margin {r.DiffusionMargin:G3})"
            : $"the guide ensemble gives the class p = {r.TargetProbability:F2} < {o.ConsistencyThreshold}";
        if (o.Oversample == 1)
        {
            var same = candidates.Select(r => r with { Kept = true, Reason = "kept: no over-generation" + (r.Consistent ? "" : $"; marked: {Why(r)}") }).ToList();
            return (same, same);
        }
        var inClass = candidates.Where(r => r.Consistent).OrderByDescending(r => r.SignalAfter).ThenBy(r => r.Index).ToList();
        var rank = inClass.Select((r, i) => (r.Index, i)).ToDictionary(p => p.Index, p => p.i);
        // Too few in class: the batch still gets Count images, topped up with the closest misses (marked, so the review
        // page and the batch list show them as inconsistent) rather than a short batch or a job that can never succeed.
        var topUp = candidates.Where(r => !r.Consistent).OrderByDescending(r => r.DiffusionMargin ?? r.TargetProbability).ThenBy(r => r.Index)
            .Take(Math.Max(0, count - inClass.Count)).Select((r, i) => (r.Index, i)).ToDictionary(p => p.Index, p => p.i);
        var all = candidates.Select(r =>
        {
            if (!r.Consistent)
                return topUp.TryGetValue(r.Index, out int t)
                    ? r with { Kept = true, Rank = inClass.Count + t + 1, Reason = $"kept, marked: only {inClass.Count} of {candidates.Count} candidates are in class and {Why(r)}" }
                    : r with { Kept = false, Reason = $"dropped: {Why(r)}" };
            int k = rank[r.Index];
            return k < count
                ? r with { Kept = true, Rank = k + 1, Reason = $"kept: rank {k + 1} of {inClass.Count} in-class candidates by {r.Signal}" }
                : r with { Kept = false, Rank = k + 1, Reason = $"dropped: in class, but rank {k + 1} by {r.Signal} is below the top {count}" };
        }).ToList();
        return ([.. all.Where(r => r.Kept).OrderBy(r => r.Rank)], all);
    }

    /// <summary>
    /// The smallest implicit-classifier margin a candidate of the class may have: the <see cref="LtgOptions.MarginQuantile"/>
    /// of the margins of <see cref="LtgOptions.MarginCalibration"/> unguided samples of the class from noise (fixed seeds),
    /// i.e. "at least as clearly in class as a typical image the model draws of it". Sampled once per class and sampler
    /// setting, then cached. Null when the diffusion model is not the filter or the quantile is 0 (argmin only).
    /// </summary>
    public double? MarginThreshold(int classIndex, LtgOptions o, CancellationToken ct = default) => MarginThreshold(classIndex, o, GuidingSignal(o, classIndex), ct);

    private double? MarginThreshold(int classIndex, LtgOptions o, IGuidanceSignal signal, CancellationToken ct)
    {
        if (o.Filter != CandidateFilter.DiffusionModel || o.MarginQuantile <= 0) return null;
        var key = (classIndex, o.Steps, o.Eta, o.CfgScale, string.Join(",", o.ImplicitFractions), o.MarginQuantile, o.MarginCalibration);
        if (_marginThresholds.TryGetValue(key, out double cached)) return cached;
        var plain = o with { Weight = 0, MeasureUnguided = false };
        var seeds = MarginCalibrationSeeds(classIndex, o.MarginCalibration);
        var plan = Timesteps(Model.Diffusion.Timesteps, plain, fromSource: false);
        var run = SampleAll(new LongtailGuidance(signal, Decoder, plain, Model.Diffusion.Timesteps), plan, null, classIndex, seeds, plain, signal, null,
            new StepCounter(0, seeds.Length, null, ct), judgeClass: true);
        double threshold = Calibration.Quantile([.. run.Implicit!.Select(v => (float)v.TargetMargin)], o.MarginQuantile);
        _marginThresholds[key] = threshold;
        return threshold;
    }

    /// <summary>Seeds of the margin calibration's unguided samples of a class (far from request seeds, which derive from job ids and small integers).</summary>
    public static long[] MarginCalibrationSeeds(int classIndex, int count) =>
        [.. Enumerable.Range(0, count).Select(i => SeedFor(0x6D617267696E + classIndex, i))];

    private readonly Dictionary<(int, int, double, double, string, double, int), double> _marginThresholds = new();

    /// <summary>What guidance pushes up and candidates are ranked by (<see cref="LtgOptions.Objective"/>).</summary>
    public IGuidanceSignal GuidingSignal(LtgOptions o, int classIndex) => o.Objective == GuidanceObjective.ClassLoss
        ? new TargetClassLoss(Guide, classIndex)
        : LongtailSignals.Create(o.Signal, Guide);

    /// <summary>The measure reported beside the guiding signal but never optimised: the ensemble's MI unless MI itself guides.</summary>
    private ILongtailSignal? HeldOutSignal(LtgOptions o) =>
        (o.Objective != GuidanceObjective.Longtail || o.Signal != SignalKind.MutualInformation) && LongtailSignals.Available(Guide).Contains(SignalKind.MutualInformation)
            ? LongtailSignals.Create(SignalKind.MutualInformation, Guide) : null;

    private sealed record Run(List<ImageTensor> Images, float[] Signal, float[]? HeldOut, ConsistencyVerdict[] Verdicts, ImplicitVerdict[]? Implicit, int Guided);

    private sealed class StepCounter(int total, int images, IProgress<LtgProgress>? progress, CancellationToken ct)
    {
        private int done;
        public void Step(int imagesDone) { ct.ThrowIfCancellationRequested(); progress?.Report(new LtgProgress(++done, total, imagesDone, images)); }
        public void Chunk(int imagesDone) => progress?.Report(new LtgProgress(done, total, imagesDone, images));
    }

    /// <summary>All candidates through the sampler in chunks of <see cref="LtgOptions.BatchSize"/>, then measured.</summary>
    private Run SampleAll(LongtailGuidance guidance, int[] plan, Tensor? source, int classIndex, long[] seeds, LtgOptions o,
        IGuidanceSignal signal, ILongtailSignal? heldOut, StepCounter counter, bool judgeClass)
    {
        var implicitSteps = judgeClass && o.Filter == CandidateFilter.DiffusionModel
            ? ImplicitClassifier.Timesteps(Model.Diffusion.Timesteps, o.ImplicitFractions) : null;
        var implicitVerdicts = implicitSteps is null ? null : new ImplicitVerdict[seeds.Length];
        int n = seeds.Length, guided = 0, per = Model.Channels * Model.Resolution * Model.Resolution;
        var images = new List<ImageTensor>(n);
        var signals = new float[n];
        var held = heldOut is null ? null : new float[n];
        var verdicts = new ConsistencyVerdict[n];
        for (int start = 0; start < n; start += o.BatchSize)
        {
            using var scope = NewDisposeScope();
            int b = Math.Min(o.BatchSize, n - start);
            var labels = full(b, classIndex, ScalarType.Int64);
            var x0 = SampleChunk(guidance, plan, source, labels, seeds[start..(start + b)], o, ref guided, () => counter.Step(start));
            var pixels = ((x0.clamp(-1, 1) + 1) / 2).contiguous().data<float>().ToArray();
            using (inference_mode())
            {
                var decoded = Decoder.Decode(x0);
                signal.Compute(decoded).contiguous().data<float>().ToArray().CopyTo(signals, start);
                heldOut?.Compute(decoded).contiguous().data<float>().ToArray().CopyTo(held!, start);
                ClassConsistency.Judge(Guide, decoded, classIndex, o.ConsistencyThreshold).CopyTo(verdicts, start);
            }
            if (implicitSteps is not null)
                ImplicitClassifier.Judge(Model, x0.clamp(-1, 1), [.. Enumerable.Repeat(classIndex, b)], seeds[start..(start + b)], implicitSteps).CopyTo(implicitVerdicts!, start);
            for (int i = 0; i < b; i++)
                images.Add(new ImageTensor(pixels.AsSpan(i * per, per).ToArray(), Model.Channels, Model.Resolution, Model.Resolution));
            counter.Chunk(start + b);
        }
        return new Run(images, signals, held, verdicts, implicitVerdicts, guided);
    }

    /// <summary>[C, H, W] or [1, C, H, W] in [0, 1] at the model's size → [1, C, H, W] in [−1, 1].</summary>
    private Tensor CheckSource(Tensor source, string name)
    {
        var x = source.dim() == 3 ? source.unsqueeze(0) : source;
        if (x.dim() != 4 || x.shape[0] != 1 || x.shape[1] != Model.Channels || x.shape[2] != Model.Resolution || x.shape[3] != Model.Resolution)
            throw new DiffusionInputException(name, $"source image must be [{Model.Channels},{Model.Resolution},{Model.Resolution}], got [{string.Join(",", source.shape)}]");
        return x;
    }

    /// <summary>
    /// Timesteps a request runs: DDIM's even plan over the full schedule; from a source image only the part at or
    /// below s·(T−1) (SDEdit), so a lower strength runs fewer steps and keeps more of the source.
    /// </summary>
    public static int[] Timesteps(int totalTimesteps, LtgOptions o, bool fromSource)
    {
        var full = DdimSampler.Timesteps(totalTimesteps, o.Steps);
        if (!fromSource) return full;
        double tStart = o.Strength * (totalTimesteps - 1);
        var part = full.Where(t => t <= tStart + 1e-9).ToArray();
        return part.Length > 0 ? part : [full[^1]];
    }

    /// <summary>One chunk through the DDIM sampler with the LTG ε-hook. Returns x0 [B, C, R, R] in [−1, 1] (unclipped ends are clamped by the sampler).</summary>
    private Tensor SampleChunk(LongtailGuidance guidance, int[] plan, Tensor? source, Tensor labels, long[] seeds, LtgOptions o, ref int guided, Action onStep)
    {
        using var scope = NewDisposeScope();
        Tensor? xStart = null;
        if (source is not null)
        {
            // SDEdit: x_{t_s} = √ᾱ·x_src + √(1−ᾱ)·z. z uses seeds derived from the image seeds, so it is not the
            // sampler's η-noise stream (which draws from the image seeds themselves).
            var gens = SamplerCore.Generators([.. seeds.Select(sd => SamplerCore.SeedFor(sd, 1))]);
            try
            {
                var z = SamplerCore.Noise(gens, Model.Channels, Model.Resolution);
                var t = full(seeds.Length, plan[0], ScalarType.Int64);
                xStart = Model.Diffusion.QSample(source.expand(seeds.Length, -1, -1, -1), t, z);
            }
            finally { foreach (var g in gens) g.Dispose(); }
        }
        int count = 0;
        var x0 = DdimSampler.SampleFrom(Model, labels, xStart, plan, o.Eta, o.CfgScale, seeds,
            ctx => guidance.Apply(ctx.Xt, ctx.Timestep, ctx.AlphaBar, ctx.Epsilon, ctx.StepIndex, ctx.Denoise, _ => count++),
            _ => onStep());
        guided += count;
        return x0.MoveToOuterDisposeScope();
    }

    private static Tensor ToModelSpace(Tensor x01) => x01.to(ScalarType.Float32) * 2 - 1;
}
