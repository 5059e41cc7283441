using Azure.Identity;
using Coral.Pipeline.Models;
using Coral.Pipeline.Names;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Configuration;

namespace Coral.Functions.Tests;

/// <summary>App settings reach the pipeline as the Functions host hands them over: environment variables with "__".</summary>
public class SettingsTests
{
    // A private prefix keeps these variables apart from the process's real ones and from other tests.
    private const string EnvPrefix = "CORAL_SETTINGS_TEST_";

    private static Func<string, string?> FromEnvironment(params (string Name, string Value)[] vars)
    {
        foreach (var (name, value) in vars) Environment.SetEnvironmentVariable(EnvPrefix + name, value);
        try
        {
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables(EnvPrefix).Build();
            return FunctionsServices.Setting(configuration);
        }
        finally
        {
            foreach (var (name, _) in vars) Environment.SetEnvironmentVariable(EnvPrefix + name, null);
        }
    }

    [Fact]
    public void Double_underscore_settings_from_the_environment_are_read()
    {
        var setting = FromEnvironment((Settings.ScoreThreshold, "0.25"), (Settings.ImagesPerJob, "3"));

        var options = PipelineFactory.ScoringOptions(setting);

        options.Threshold.Should().Be(0.25);
        options.ImagesPerJob.Should().Be(3);
    }

    [Fact]
    public void Identity_based_storage_settings_build_clients_for_the_service_uris()
    {
        var setting = FromEnvironment(
            (Settings.StorageBlobServiceUri, "https://acct.blob.core.windows.net"),
            (Settings.StorageQueueServiceUri, "https://acct.queue.core.windows.net"),
            (Settings.StorageCredential, "managedidentity"),
            (Settings.StorageClientId, "00000000-0000-0000-0000-000000000001"));

        var storage = PipelineStorage.FromSettings(setting);

        storage.Incoming.Uri.Should().Be(new Uri("https://acct.blob.core.windows.net/" + Containers.Incoming));
        storage.Jobs.Uri.Should().Be(new Uri("https://acct.queue.core.windows.net/" + Queues.LongtailJobs));
    }

    [Fact]
    public void Managed_identity_credential_is_chosen_only_when_asked_for()
    {
        PipelineStorage.Credential("managedidentity", "00000000-0000-0000-0000-000000000001").Should().BeOfType<ManagedIdentityCredential>();
        PipelineStorage.Credential(null, null).Should().BeOfType<DefaultAzureCredential>();
        var act = () => PipelineStorage.Credential("clientsecret", null);
        act.Should().Throw<StorageConfigurationException>().WithMessage($"*{Settings.StorageCredential}*clientsecret*");
    }

    [Fact]
    public void Missing_or_bad_storage_settings_name_the_setting()
    {
        var none = () => PipelineStorage.FromSettings(FromEnvironment());
        none.Should().Throw<StorageConfigurationException>().WithMessage($"*{Settings.StorageConnection}*{Settings.StorageBlobServiceUri}*");

        var bad = () => PipelineStorage.FromSettings(FromEnvironment(
            (Settings.StorageBlobServiceUri, "not a uri"), (Settings.StorageQueueServiceUri, "https://acct.queue.core.windows.net")));
        bad.Should().Throw<StorageConfigurationException>().WithMessage($"*{Settings.StorageBlobServiceUri}*not a uri*");
    }
}
