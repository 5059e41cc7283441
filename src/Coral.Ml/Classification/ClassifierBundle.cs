using System.Text.Json.Nodes;
using Coral.Ml.Common;
using Coral.Ml.Signals;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Classification;

/// <summary>Everything one forward pass of a bundle gives: member 0's features and every member's logits.</summary>
public sealed record BundleOutputs(Tensor Features, Tensor MemberLogits) : IDisposable
{
    /// <summary>The deployed classifier's logits [B, C] (member 0).</summary>
    public Tensor Logits => MemberLogits[0];
    /// <summary>Member 0's <see cref="SmallCnn.DomainFeatures"/> (what the out-of-domain score reads).</summary>
    public required Tensor DomainFeatures { get; init; }
    public void Dispose() { Features.Dispose(); MemberLogits.Dispose(); DomainFeatures.Dispose(); }
}

/// <summary>
/// The deployable unit: K ensemble members (member 0 is the deployed classifier), an optional epistemic
/// head beside member 0, calibration thresholds and a model card. Loaded models are frozen (no parameter
/// gradients) and in eval mode; gradients w.r.t. the input images still flow, as Longtail Guidance needs.
/// Inputs are [B, C, H, W] in [0, 1].
/// </summary>
public sealed class ClassifierBundle : IDisposable
{
    public const string FileName = "bundle.ckpt";
    public const string CardFileName = "model-card.json";
    private const string Format = "coral-classifier-bundle/1";

    private readonly SmallCnn[] members;

    public ClassifierBundle(CnnConfig config, IReadOnlyList<string> classNames, IReadOnlyList<SmallCnn> members,
        EpistemicHead? head, Calibration? calibration, ModelCard card)
    {
        if (members.Count == 0) throw new ArgumentException("a bundle needs at least one member", nameof(members));
        if (classNames.Count != config.NumClasses) throw new ArgumentException($"{classNames.Count} class names for {config.NumClasses} classes", nameof(classNames));
        if (members.Any(m => m.Config != config)) throw new ArgumentException("every member must have the bundle's config", nameof(members));
        Config = config; ClassNames = classNames; this.members = members.ToArray();
        Head = head; Calibration = calibration; Card = card;
        foreach (var m in this.members) Freeze(m);
        if (head is not null) Freeze(head);
    }

    public CnnConfig Config { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int NumClasses => Config.NumClasses;
    public int NumMembers => members.Length;
    public IReadOnlyList<SmallCnn> Members => members;
    public EpistemicHead? Head { get; }
    public Calibration? Calibration { get; init; }
    /// <summary>Where the training images sit in member 0's feature space (the feature-distance signal); null for bundles from before it.</summary>
    public FeatureDistance? Domain { get; init; }
    public ModelCard Card { get; init; }
    /// <summary>Expected input (C, H, W).</summary>
    public (int Channels, int Height, int Width) InputShape => (Config.Channels, Config.Height, Config.Width);

    /// <summary>The deployed classifier's logits [B, C].</summary>
    public Tensor Logits(Tensor images) => members[0].forward(Check(images));

    /// <summary>Penultimate features [B, FeatureDim] of the deployed classifier (member 0).</summary>
    public Tensor Features(Tensor images) => members[0].Features(Check(images));

    /// <summary>softmax(Logits) [B, C].</summary>
    public Tensor Probabilities(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Logits(images).softmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Logits of every member, stacked [K, B, C].</summary>
    public Tensor MemberLogits(Tensor images)
    {
        using var scope = NewDisposeScope();
        Check(images);
        return stack(members.Select(m => m.forward(images)).ToArray()).MoveToOuterDisposeScope();
    }

    /// <summary>One pass through every member, keeping member 0's features (for the head).</summary>
    public BundleOutputs Forward(Tensor images, bool allMembers = true)
    {
        using var scope = NewDisposeScope();
        Check(images);
        var domain = members[0].DomainFeatures(images);
        var features = domain[.., ^Config.FeatureDim..];
        var logits0 = members[0].Classify(features);
        var all = allMembers && members.Length > 1
            ? stack([logits0, .. members.Skip(1).Select(m => m.forward(images))])
            : logits0.unsqueeze(0);
        return new BundleOutputs(features.MoveToOuterDisposeScope(), all.MoveToOuterDisposeScope()) { DomainFeatures = domain.MoveToOuterDisposeScope() };
    }

    /// <summary>The epistemic head on member 0's outputs → [B].</summary>
    public Tensor HeadScore(Tensor features, Tensor logits) =>
        (Head ?? throw new InvalidOperationException("this bundle has no epistemic head")).forward(features, logits);

    private Tensor Check(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != Config.Channels || images.shape[2] != Config.Height || images.shape[3] != Config.Width)
            throw new ArgumentException(
                $"classifier expects images [B,{Config.Channels},{Config.Height},{Config.Width}], got [{string.Join(",", images.shape)}]", nameof(images));
        return images;
    }

    private static void Freeze(nn.Module m)
    {
        m.eval();
        foreach (var p in m.parameters()) p.requires_grad = false;
    }

    // ---- persistence -------------------------------------------------------------------------------

    private sealed record Header(string Format, CnnConfig Config, IReadOnlyList<string> ClassNames, int Members,
        int? HeadHidden, Calibration? Calibration, ModelCard Card);

    /// <summary>Writes bundle.ckpt (atomic) and model-card.json into <paramref name="path"/> (a folder, or a .ckpt file path).</summary>
    public void Save(string path)
    {
        string file = ResolveFile(path);
        var header = new Header(Format, Config, ClassNames, members.Length, Head?.Hidden, Calibration, Card);
        var tensors = members.SelectMany((m, k) => TensorFile.Named(m, $"member{k}."));
        if (Head is not null) tensors = tensors.Concat(TensorFile.Named(Head, "head."));
        using var domainMeans = Domain is null ? null : torch.tensor(Domain.Means, [Domain.Classes, Domain.Dim]);
        using var domainWhiten = Domain is null ? null : torch.tensor(Domain.Whiten, [Domain.Dim, Domain.Dim]);
        if (Domain is not null) tensors = tensors.Concat([(DomainMeans, domainMeans!), (DomainWhiten, domainWhiten!)]);
        TensorFile.Save(file, Json.ToObject(header), tensors);
        AtomicFile.WriteAllText(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, CardFileName), Json.Serialize(Card));
    }

    /// <summary>
    /// Loads a bundle from a folder holding bundle.ckpt, or from the .ckpt file itself.
    /// Throws <see cref="CheckpointCorruptException"/> or <see cref="CheckpointMismatchException"/>, naming the file.
    /// </summary>
    public static ClassifierBundle Load(string path)
    {
        TorchRuntime.EnsureLoaded();
        string file = ResolveFile(ResolveModelPath(path));
        var contents = TensorFile.Load(file);
        string format = contents.Meta.Get<string>("format", file);
        if (format != Format) throw new CheckpointMismatchException(file, $"format '{format}' is not '{Format}'");
        var config = contents.Meta.Get<CnnConfig>("config", file);
        var classNames = contents.Meta.Get<List<string>>("classNames", file);
        int k = contents.Meta.Get<int>("members", file);
        if (k < 1 || k > 64) throw new CheckpointMismatchException(file, $"member count {k} is not in 1..64");
        if (config.Channels is < 1 or > 4 || config.Height < 8 || config.Width < 8 || config.NumClasses < 2 || classNames.Count != config.NumClasses
            || config.Conv1 < 1 || config.Conv2 < 1 || config.FeatureDim < 1)
            throw new CheckpointMismatchException(file, $"implausible config {config} with {classNames.Count} class names");
        int? headHidden = contents.Meta["headHidden"]?.GetValue<int>();
        var calibration = contents.Meta["calibration"] is JsonObject ? contents.Meta.Get<Calibration>("calibration", file) : null;
        var card = contents.Meta.Get<ModelCard>("card", file);

        FeatureDistance? domain = null;
        if (contents.Tensors.TryGetValue(DomainMeans, out var means) && contents.Tensors.TryGetValue(DomainWhiten, out var whiten))
        {
            int dim = config.DomainFeatureDim;
            if (!means.Shape.SequenceEqual([config.NumClasses, (long)dim]) || !whiten.Shape.SequenceEqual([(long)dim, dim]))
                throw new CheckpointMismatchException(file, $"feature-distance tensors [{string.Join(",", means.Shape)}] and [{string.Join(",", whiten.Shape)}] do not fit {config.NumClasses} classes of {dim} features");
            domain = new FeatureDistance(config.NumClasses, dim, means.Data, whiten.Data);
        }

        var members = new List<SmallCnn>();
        EpistemicHead? head = null;
        try
        {
            for (int i = 0; i < k; i++)
            {
                var m = new SmallCnn(config);
                members.Add(m);
                TensorFile.LoadInto(contents, m, $"member{i}.");
            }
            if (headHidden is int hidden)
            {
                head = new EpistemicHead(config.FeatureDim, config.NumClasses, hidden);
                TensorFile.LoadInto(contents, head, "head.");
            }
            var extra = contents.Tensors.Keys.Where(n => n is not (DomainMeans or DomainWhiten)).Where(n => !(n.StartsWith("head.", StringComparison.Ordinal) && head is not null)
                && !Enumerable.Range(0, k).Any(i => n.StartsWith($"member{i}.", StringComparison.Ordinal))).ToList();
            if (extra.Count > 0) throw new CheckpointMismatchException(file, $"unexpected tensors [{string.Join(", ", extra.Take(5))}]");
        }
        catch
        {
            foreach (var m in members) m.Dispose();
            head?.Dispose();
            throw;
        }
        return new ClassifierBundle(config, classNames, members, head, calibration, card) { Domain = domain };
    }

    private const string DomainMeans = "domain.means", DomainWhiten = "domain.whiten";

    /// <summary>The bundle file for a folder or file path (an existing file is taken as is, so a wrong file is named in the error).</summary>
    public static string ResolveFile(string path) =>
        File.Exists(path) || (!Directory.Exists(path) && path.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase)) ? path : Path.Combine(path, FileName);

    /// <summary>The shipped default scorer and the independent judge (repository-relative).</summary>
    /// <summary>"classifier-" + the checkpoint's sha256 prefix: the version score records and exported graphs carry.</summary>
    public static string VersionOf(string path) => $"classifier-{Coral.Ml.Common.FileHash.Sha256(ResolveFile(path))[..12]}";

    public const string DefaultClassifierPath = "models/classifier";
    public const string DefaultJudgePath = "models/judge";

    /// <summary>
    /// A relative model path as given if it exists from the current folder, else looked up from the
    /// enclosing repository (walking up from the current folder, then from the program's folder), so
    /// `coral score` finds models/classifier from anywhere inside the repository or next to a build.
    /// </summary>
    public static string ResolveModelPath(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path) || Directory.Exists(path)) return path;
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, path);
                if (File.Exists(candidate) || Directory.Exists(candidate)) return candidate;
            }
        return path;
    }

    public void Dispose()
    {
        foreach (var m in members) m.Dispose();
        Head?.Dispose();
    }
}
