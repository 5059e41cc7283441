using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Introspection;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coral.Pipeline;

/// <summary>Container and queue names of one pipeline; a prefix lets several pipelines (or tests) share an account.</summary>
public sealed record StorageOptions
{
    /// <summary>Empty in Azure, where the names must match the Functions bindings.</summary>
    public string NamePrefix { get; init; } = "";
}

/// <summary>
/// The composition root every host uses (both Functions apps, `coral serve`, `coral bench pipeline`, the tests' child
/// host): options bound from configuration, the storage clients, the handlers. The handlers' ML seams
/// (<see cref="IImageScorer"/>, <see cref="ILongtailBatchGenerator"/>) are registered by the model adapters
/// (Coral.Pipeline.Models, Coral.Pipeline.Models.Diffusion) or by tests, and resolved only when a handler is.
/// </summary>
public static class PipelineServices
{
    /// <summary>The section of the <c>Coral__*</c> settings: configuration turns the environment's "__" into ":".</summary>
    public const string Section = "Coral";

    /// <summary>Reads a setting by its app-setting name (<c>Coral__ScoreThreshold</c> is stored as <c>Coral:ScoreThreshold</c>).</summary>
    public static Func<string, string?> Setting(IConfiguration configuration) =>
        key => configuration[key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal)];

    /// <summary>Idempotent: the local host adds the scorer's and the generator's registrations, each of which adds this.</summary>
    public static IServiceCollection AddCoralPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(PipelineStorage))) return services;
        var coral = configuration.GetSection(Section);
        services.AddOptions<ScoringOptions>().Bind(coral);
        services.AddOptions<GenerationOptions>().Bind(coral);
        services.AddOptions<StorageOptions>().Bind(coral);

        var storage = configuration.GetSection(Names.Settings.StorageConnection);
        services.AddAzureClients(clients =>
        {
            clients.AddClient<BlobServiceClient, BlobClientOptions>((options, _, sp) =>
                StorageClients.Blobs(storage, StorageClients.WithTimeout(options, StorageClients.NetworkTimeout(configuration)), sp.GetRequiredService<AzureComponentFactory>()));
            clients.AddClient<QueueServiceClient, QueueClientOptions>((options, _, sp) =>
                StorageClients.Queues(storage, StorageClients.WithTimeout(options, StorageClients.NetworkTimeout(configuration)), sp.GetRequiredService<AzureComponentFactory>()));
        });
        services.AddSingleton(sp => new PipelineStorage(sp.GetRequiredService<BlobServiceClient>(), sp.GetRequiredService<QueueServiceClient>(),
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.NamePrefix));

        services.TryAddSingleton<ILongtailIntrospector>(NoIntrospection.Instance);
        // One batcher per process: concurrent invocations (Functions) and concurrent blobs (local host) share its forward passes.
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ScoringOptions>>().Value.CreateBatcher(sp.GetRequiredService<IImageScorer>()));
        services.AddSingleton(sp => new ScoreHandler(sp.GetRequiredService<PipelineStorage>(), sp.GetRequiredService<ScoringBatcher>(),
            sp.GetRequiredService<IImageScorer>(), sp.GetRequiredService<IOptions<ScoringOptions>>().Value, sp.GetRequiredService<ILogger<ScoreHandler>>()));
        services.AddSingleton(sp => new GenerateHandler(sp.GetRequiredService<PipelineStorage>(), sp.GetRequiredService<ILongtailBatchGenerator>(),
            sp.GetRequiredService<ILogger<GenerateHandler>>(), TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<GenerationOptions>>().Value.JobLeaseSeconds),
            sp.GetRequiredService<ILongtailIntrospector>()));
        return services;
    }
}
