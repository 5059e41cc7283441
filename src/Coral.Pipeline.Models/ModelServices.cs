using Coral.Pipeline.Introspection;
using Coral.Pipeline.Models.Introspection;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coral.Pipeline.Models;

/// <summary>Where the shipped models are; bound from the <c>Coral</c> section (<c>Coral__ClassifierPath</c>, <c>Coral__DiffusionPath</c>).</summary>
public sealed record ModelOptions
{
    public string ClassifierPath { get; init; } = Defaults.ClassifierPath;
    public string DiffusionPath { get; init; } = Defaults.DiffusionPath;
    /// <summary>"onnxruntime": the exported graph (no libtorch). One value today; the setting names the runtime in every deployment.</summary>
    public string ScoringRuntime { get; init; } = Defaults.ScoringRuntime;
    /// <summary>Decoded bytes all concurrent scorings may hold at once (<c>Coral__DecodeBudgetMegabytes</c>).</summary>
    public long DecodeBudgetMegabytes { get; init; } = Defaults.DecodeBudgetMegabytes;
}

/// <summary>Registrations of the model adapters, on top of <see cref="PipelineServices.AddCoralPipeline"/>.</summary>
public static class ModelServices
{
    /// <summary>The scorer's composition: the pipeline, and the shipped classifier behind <see cref="IImageScorer"/> (loaded once, on first use).</summary>
    public static IServiceCollection AddCoralScorer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddCoralPipeline(configuration).AddModelOptions(configuration);
        services.AddSingleton<IImageScorer>(sp =>
        {
            var models = sp.GetRequiredService<IOptions<ModelOptions>>().Value;
            string path = ModelPaths.Resolve(models.ClassifierPath);
            long maxBytes = sp.GetRequiredService<IOptions<ScoringOptions>>().Value.MaxInputBytes;
            // Concurrent scorings share one budget of decoded bytes: memory is bounded by this setting, not by the input.
            Coral.Imaging.DecodeBudget.Configure(models.DecodeBudgetMegabytes << 20);
            return models.ScoringRuntime.ToLowerInvariant() switch
            {
                "onnxruntime" => OnnxImageScorer.Load(path, maxBytes),
                var other => throw new ModelUnavailableException($"{Settings.ScoringRuntime}: '{other}' is not a scoring runtime this app has (onnxruntime)"),
            };
        });
        return services;
    }

    public static IServiceCollection AddModelOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ModelOptions>().Bind(configuration.GetSection(PipelineServices.Section));
        return services;
    }

    /// <summary>
    /// Longtail introspection when <see cref="Settings.OpenAiEndpoint"/> is set (key from <see cref="SecretSettings.OpenAiKey"/>,
    /// else Entra ID), otherwise the no-op default. A half-configured or malformed setting throws
    /// <see cref="IntrospectionConfigurationException"/> when the introspector is first resolved (at startup).
    /// </summary>
    public static IServiceCollection AddIntrospection(this IServiceCollection services, IConfiguration configuration) =>
        services.Replace(ServiceDescriptor.Singleton<ILongtailIntrospector>(sp =>
            IntrospectionOptions.FromSettings(PipelineServices.Setting(configuration)) is { } options
                ? new AzureOpenAiIntrospector(options, sp.GetRequiredService<ILogger<AzureOpenAiIntrospector>>())
                : NoIntrospection.Instance));
}

/// <summary>Relative model paths resolve against the working directory, then the app folder and its parents (repo checkout).</summary>
public static class ModelPaths
{
    public static string Resolve(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path) || Directory.Exists(path)) return Path.GetFullPath(path);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, path);
            if (File.Exists(candidate) || Directory.Exists(candidate)) return candidate;
        }
        return Path.GetFullPath(path);
    }
}
