using Azure.Identity;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Models;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Coral.Pipeline;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Coral.Functions.Tests;

/// <summary>
/// App settings reach the pipeline as the Functions host hands them over (environment variables with "__"), through
/// the one composition root both apps use.
/// </summary>
public class SettingsTests
{
    // A private prefix keeps these variables apart from the process's real ones and from other tests.
    private const string EnvPrefix = "CORAL_SETTINGS_TEST_";

    private static IConfiguration FromEnvironment(params (string Name, string Value)[] vars)
    {
        foreach (var (name, value) in vars) Environment.SetEnvironmentVariable(EnvPrefix + name, value);
        try
        {
            return new ConfigurationBuilder().AddEnvironmentVariables(EnvPrefix).Build();
        }
        finally
        {
            foreach (var (name, _) in vars) Environment.SetEnvironmentVariable(EnvPrefix + name, null);
        }
    }

    private static ServiceProvider Pipeline(IConfiguration configuration) =>
        new ServiceCollection().AddLogging().AddCoralPipeline(configuration).AddModelOptions(configuration).BuildServiceProvider();

    [Fact]
    public void Double_underscore_settings_from_the_environment_are_bound_to_the_options()
    {
        using var services = Pipeline(FromEnvironment((Settings.ScoreThreshold, "0.25"), (Settings.ImagesPerJob, "3"),
            (Settings.ClassifierPath, "elsewhere/classifier"), (Settings.DiffusionPath, "elsewhere/diffusion")));

        var scoring = services.GetRequiredService<IOptions<ScoringOptions>>().Value;
        scoring.Threshold.Should().Be(0.25);
        scoring.ImagesPerJob.Should().Be(3);
        var models = services.GetRequiredService<IOptions<ModelOptions>>().Value;
        (models.ClassifierPath, models.DiffusionPath).Should().Be(("elsewhere/classifier", "elsewhere/diffusion"));
    }

    [Fact]
    public void Unset_settings_keep_the_shared_defaults()
    {
        using var services = Pipeline(FromEnvironment());
        var scoring = services.GetRequiredService<IOptions<ScoringOptions>>().Value;
        (scoring.Threshold, scoring.ImagesPerJob, scoring.MaxInputBytes).Should().Be((null, Defaults.ImagesPerJob, Defaults.MaxInputBytes));
        services.GetRequiredService<IOptions<GenerationOptions>>().Value.JobLeaseSeconds.Should().Be(Defaults.JobLeaseSeconds);
        services.GetRequiredService<IOptions<ModelOptions>>().Value.ClassifierPath.Should().Be(Defaults.ClassifierPath);
    }

    [Fact]
    public void Every_coral_setting_lives_in_the_section_the_options_bind()
    {
        typeof(Settings).GetFields().Select(f => (string)f.GetValue(null)!)
            .Where(name => !name.StartsWith(Settings.StorageConnection, StringComparison.Ordinal))
            .Should().OnlyContain(name => name.StartsWith(PipelineServices.Section + "__", StringComparison.Ordinal));
    }

    [Fact]
    public void Identity_based_storage_settings_build_clients_for_the_service_uris()
    {
        using var services = Pipeline(FromEnvironment(
            (Settings.StorageBlobServiceUri, "https://acct.blob.core.windows.net"),
            (Settings.StorageQueueServiceUri, "https://acct.queue.core.windows.net"),
            (Settings.StorageCredential, "managedidentity"),
            (Settings.StorageClientId, "00000000-0000-0000-0000-000000000001")));

        var storage = services.GetRequiredService<PipelineStorage>();

        storage.Incoming.Uri.Should().Be(new Uri("https://acct.blob.core.windows.net/" + Containers.Incoming));
        storage.Jobs.Uri.Should().Be(new Uri("https://acct.queue.core.windows.net/" + Queues.LongtailJobs));
    }

    [Fact]
    public void Managed_identity_credential_is_chosen_only_when_asked_for()
    {
        using var services = Pipeline(FromEnvironment());
        var factory = services.GetRequiredService<AzureComponentFactory>();
        IConfigurationSection Storage(params (string Name, string Value)[] vars) => FromEnvironment(vars).GetSection(Settings.StorageConnection);

        StorageClients.Credential(Storage((Settings.StorageCredential, "managedidentity"), (Settings.StorageClientId, "00000000-0000-0000-0000-000000000001")), factory)
            .Should().BeOfType<ManagedIdentityCredential>();
        StorageClients.Credential(Storage(), factory).Should().BeOfType<DefaultAzureCredential>();
        var act = () => StorageClients.Credential(Storage((Settings.StorageCredential, "clientsecret")), factory);
        act.Should().Throw<StorageConfigurationException>().WithMessage($"*{Settings.StorageCredential}*clientsecret*");
    }

    [Fact]
    public void Missing_or_bad_storage_settings_name_the_setting()
    {
        var none = () => Pipeline(FromEnvironment()).GetRequiredService<PipelineStorage>();
        none.Should().Throw<StorageConfigurationException>().WithMessage($"*{Settings.StorageConnection}*{Settings.StorageBlobServiceUri}*");

        var bad = () => Pipeline(FromEnvironment(
            (Settings.StorageBlobServiceUri, "not a uri"), (Settings.StorageQueueServiceUri, "https://acct.queue.core.windows.net"))).GetRequiredService<PipelineStorage>();
        bad.Should().Throw<StorageConfigurationException>().WithMessage($"*{Settings.StorageBlobServiceUri}*not a uri*");
    }

    [Fact]
    public void A_connection_string_wins_and_a_malformed_one_names_the_setting()
    {
        using var services = Pipeline(FromEnvironment((Settings.StorageConnection, "UseDevelopmentStorage=true")));
        services.GetRequiredService<PipelineStorage>().Incoming.Name.Should().Be(Containers.Incoming);

        var bad = () => Pipeline(FromEnvironment((Settings.StorageConnection, "not=a;connection"))).GetRequiredService<PipelineStorage>();
        bad.Should().Throw<StorageConfigurationException>().WithMessage($"*{Settings.StorageConnection}*");
    }
}
