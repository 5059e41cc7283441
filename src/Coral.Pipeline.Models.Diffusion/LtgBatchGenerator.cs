using Coral.Diffusion.Guidance;
using Coral.Diffusion;
using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Signals;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using static TorchSharp.torch;

namespace Coral.Pipeline.Models.Diffusion;

/// <summary>
/// The real <see cref="ILongtailBatchGenerator"/>: Coral.Diffusion's <see cref="LongtailGenerator"/> (DDIM +
/// Longtail Guidance from noise, or SDEdit from the flagged source, see <see cref="LtgOptions.Start"/>) guided by the
/// shipped classifier; over-generated candidates are filtered and ranked, and the dropped ones recorded. Seeds come from the
/// job, so a retried job asks for the same images. One batch at a time (torch modules are shared).
/// </summary>
public sealed class LtgBatchGenerator : ILongtailBatchGenerator, IDisposable
{
    private readonly Coral.Diffusion.DiffusionModel _model;
    private readonly ClassifierBundle _guide;
    private readonly LongtailGenerator _generator;
    private readonly LtgOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public LtgBatchGenerator(Coral.Diffusion.DiffusionModel model, ClassifierBundle guide, string modelVersion, LtgOptions? options = null)
    {
        _model = model;
        _guide = guide;
        _generator = new LongtailGenerator(model, guide);
        _options = options ?? new LtgOptions();
        _options.Validate();
        DiffusionModel = $"{modelVersion}; ltg signal {_options.GuidingSignalName}";
        Parameters = new Dictionary<string, double>
        {
            ["weight"] = _options.Weight, ["strength"] = _options.Strength, ["steps"] = _options.Steps, ["eta"] = _options.Eta,
            ["cfgScale"] = _options.CfgScale, ["guideEvery"] = _options.GuideEvery, ["consistencyThreshold"] = _options.ConsistencyThreshold,
            ["guideTMax"] = _options.GuideTMax, ["guideTMin"] = _options.GuideTMin, ["oversample"] = _options.Oversample,
            ["marginQuantile"] = _options.MarginQuantile, ["marginCalibration"] = _options.MarginCalibration,
            ["fromSource"] = _options.Start == GenerationStart.Source ? 1 : 0, ["objectiveClassLoss"] = _options.Objective == GuidanceObjective.ClassLoss ? 1 : 0, ["filterDiffusionModel"] = _options.Filter == CandidateFilter.DiffusionModel ? 1 : 0,
        };
    }

    /// <summary>Loads models/diffusion and the guiding classifier; versions are content hashes.</summary>
    public static LtgBatchGenerator Load(string diffusionPath, string classifierPath)
    {
        if (!Directory.Exists(diffusionPath))
            throw new ModelUnavailableException($"diffusion model folder {diffusionPath} not found (train one with `coral train diffusion`, or set {Names.Settings.DiffusionPath})");
        string classifierFile = ClassifierBundle.ResolveFile(classifierPath);
        if (!File.Exists(classifierFile))
            throw new ModelUnavailableException($"guiding classifier {classifierFile} not found (set {Names.Settings.ClassifierPath})");
        string version = $"diffusion-{Coral.Ml.Common.FileHash.Sha256OfFolder(diffusionPath)[..12]}";
        var model = Coral.Diffusion.DiffusionModel.Load(diffusionPath);
        try { return new LtgBatchGenerator(model, ClassifierBundle.Load(classifierFile), version); }
        catch { model.Dispose(); throw; }
    }

    public string DiffusionModel { get; }
    public IReadOnlyDictionary<string, double> Parameters { get; }

    public async Task<GeneratedBatch> GenerateAsync(LongtailJob job, ReadOnlyMemory<byte> sourceImage, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try { return await Task.Run(() => Generate(job, sourceImage.ToArray(), ct), ct); }
        finally { _gate.Release(); }
    }

    private GeneratedBatch Generate(LongtailJob job, byte[] source, CancellationToken ct)
    {
        using var scope = NewDisposeScope();
        Tensor x;
        try { x = _generator.DecodeSource(source, job.Source.Name); }
        catch (ImageDecodeException e) { throw new PermanentJobException(job.JobId, "source cannot be decoded: " + e.Message, e); }
        if (job.Score.Probabilities.Length != _generator.ClassNames.Count)
            throw new PermanentJobException(job.JobId, $"the score has {job.Score.Probabilities.Length} class probabilities, the generator {_generator.ClassNames.Count} classes");
        var images = new List<GeneratedImage>(job.ImageCount);
        var dropped = new List<CandidateEvidence>();
        bool fromSource = _options.Start == GenerationStart.Source;
        int next = 0;
        foreach (var (classIndex, count) in TargetClasses.Plan(job.Score, job.ImageCount))
        {
            // Seeds by the image's index in the whole job, so a retried job asks for the same images.
            var seeds = Enumerable.Range(next, count).Select(job.SeedFor).ToArray();
            next += count;
            var batch = _generator.Generate(new LtgRequest
            {
                Source = fromSource ? x : null, SourceName = job.Source.Name, ClassIndex = classIndex, Count = count, Options = _options, Seeds = seeds,
            }, ct: ct);
            for (int i = 0; i < batch.Images.Count; i++)
            {
                var r = batch.Records[i];
                images.Add(new GeneratedImage(ImageCodec.EncodePng(batch.Images[i]), r.Seed, r.SignalBefore ?? job.Score.Signal, r.SignalAfter,
                    r.ClassIndex, r.ClassName, r.ClassProbabilities, r.Consistent) { Evidence = Evidence(r) });
            }
            dropped.AddRange(batch.Candidates.Where(r => !r.Kept).Select(Evidence));
        }
        return new GeneratedBatch(images, dropped);
    }

    private CandidateEvidence Evidence(LtgImageRecord r) => new()
    {
        Seed = r.Seed, ClassName = r.ClassName, Signal = r.Signal, SignalAfter = r.SignalAfter, SignalUnguided = r.SignalUnguided,
        HeldOutSignal = r.HeldOutSignal, HeldOutAfter = r.HeldOutAfter, HeldOutUnguided = r.HeldOutUnguided,
        Consistent = r.Consistent, ConsistencyBy = r.ConsistencyBy,
        ModelClass = r.DiffusionClass is int k ? _generator.ClassNames[k] : null, ModelMargin = r.DiffusionMargin, ModelMarginThreshold = r.DiffusionMarginThreshold,
        Kept = r.Kept, Rank = r.Rank, Reason = r.Reason,
    };

    public void Dispose()
    {
        _model.Dispose();
        _guide.Dispose();
        _gate.Dispose();
    }
}
