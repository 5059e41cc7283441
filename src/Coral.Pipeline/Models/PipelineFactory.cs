using System.Globalization;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Introspection;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Microsoft.Extensions.Logging;

namespace Coral.Pipeline.Models;

/// <summary>
/// One composition of the real pipeline from settings, shared by the Functions apps and `coral serve`
/// (settings come from app settings / environment / command-line options through <c>setting</c>).
/// </summary>
public static class PipelineFactory
{
    public static ScoringOptions ScoringOptions(Func<string, string?> setting) => new()
    {
        Threshold = ParseDouble(setting, Settings.ScoreThreshold),
        ImagesPerJob = (int?)ParseDouble(setting, Settings.ImagesPerJob) ?? Defaults.ImagesPerJob,
    };

    public static IImageScorer LoadScorer(Func<string, string?> setting) =>
        ClassifierImageScorer.Load(ResolveModelPath(setting(Settings.ClassifierPath) ?? Defaults.ClassifierPath), Defaults.MaxInputBytes);

    /// <summary>The real Longtail Guidance generator over the shipped diffusion model, guided by the shipped classifier.</summary>
    public static ILongtailBatchGenerator LoadGenerator(Func<string, string?> setting, IImageScorer scorer)
    {
        _ = scorer; // the guide is loaded separately: the generator runs on its own thread/GPU
        return LtgBatchGenerator.Load(ResolveModelPath(setting(Settings.DiffusionPath) ?? Defaults.DiffusionPath),
            ResolveModelPath(setting(Settings.ClassifierPath) ?? Defaults.ClassifierPath));
    }

    /// <summary>
    /// Longtail introspection when <see cref="Settings.OpenAiEndpoint"/> is set (key from
    /// <see cref="SecretSettings.OpenAiKey"/>, else Entra ID), otherwise the no-op default.
    /// A half-configured or malformed setting throws <see cref="IntrospectionConfigurationException"/> at startup.
    /// </summary>
    public static ILongtailIntrospector LoadIntrospector(Func<string, string?> setting, ILoggerFactory loggers) =>
        IntrospectionOptions.FromSettings(setting) is { } options
            ? new AzureOpenAiIntrospector(options, loggers.CreateLogger<AzureOpenAiIntrospector>())
            : NoIntrospection.Instance;

    /// <summary>Relative model paths resolve against the working directory, then the app folder and its parents (repo checkout).</summary>
    public static string ResolveModelPath(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path) || Directory.Exists(path)) return Path.GetFullPath(path);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, path);
            if (File.Exists(candidate) || Directory.Exists(candidate)) return candidate;
        }
        return Path.GetFullPath(path);
    }

    private static double? ParseDouble(Func<string, string?> setting, string name)
    {
        var v = setting(name);
        if (string.IsNullOrWhiteSpace(v)) return null;
        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d
            : throw new ArgumentException($"setting {name}='{v}' is not a number");
    }
}
