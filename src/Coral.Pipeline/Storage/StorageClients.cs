using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Coral.Pipeline.Names;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;

namespace Coral.Pipeline.Storage;

/// <summary>
/// The storage clients from the <c>CoralStorage</c> configuration section, read the way the Functions host reads
/// its connections: the section's value is a connection string (Azurite, local), else identity-based
/// <c>CoralStorage__blobServiceUri</c> / <c>__queueServiceUri</c> with <c>__credential</c> / <c>__clientId</c>
/// (keyless; the credential comes from Microsoft.Extensions.Azure's <see cref="AzureComponentFactory"/>).
/// </summary>
public static class StorageClients
{
    /// <summary>A key inside the section: <c>CoralStorage__blobServiceUri</c> → <c>blobServiceUri</c>.</summary>
    private static string Key(string setting) => setting[(Settings.StorageConnection.Length + 2)..];

    /// <summary>
    /// Every storage request gets a network timeout: a response (or a listing body) that never arrives fails that try,
    /// which the SDK retries and the host's loops then log and back off from, instead of waiting forever.
    /// </summary>
    public static T WithTimeout<T>(T options, TimeSpan? networkTimeout = null) where T : ClientOptions
    {
        var timeout = networkTimeout ?? TimeSpan.FromSeconds(Defaults.StorageNetworkTimeoutSeconds);
        if (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromHours(1))
            throw new StorageConfigurationException($"setting {Settings.StorageNetworkTimeoutSeconds}={timeout.TotalSeconds} must be in (0, 3600] seconds");
        options.Retry.NetworkTimeout = timeout;
        return options;
    }

    /// <summary>The network timeout from <c>Coral__StorageNetworkTimeoutSeconds</c>, else the default.</summary>
    public static TimeSpan NetworkTimeout(IConfiguration configuration)
    {
        var text = configuration[Settings.StorageNetworkTimeoutSeconds];
        if (string.IsNullOrWhiteSpace(text)) return TimeSpan.FromSeconds(Defaults.StorageNetworkTimeoutSeconds);
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 && s <= 3600
            ? TimeSpan.FromSeconds(s)
            : throw new StorageConfigurationException($"setting {Settings.StorageNetworkTimeoutSeconds}='{text}' must be a number of seconds in (0, 3600]");
    }

    public static BlobServiceClient Blobs(IConfigurationSection section, BlobClientOptions options, AzureComponentFactory factory) =>
        ConnectionString(section) is { } cs
            ? Parse(() => new BlobServiceClient(cs, options))
            : new BlobServiceClient(ServiceUri(section, Settings.StorageBlobServiceUri), Credential(section, factory), options);

    public static QueueServiceClient Queues(IConfigurationSection section, QueueClientOptions options, AzureComponentFactory factory)
    {
        PipelineStorage.ApplyQueueOptions(options);
        return ConnectionString(section) is { } cs
            ? Parse(() => new QueueServiceClient(cs, options))
            : new QueueServiceClient(ServiceUri(section, Settings.StorageQueueServiceUri), Credential(section, factory), options);
    }

    /// <summary>
    /// <c>__credential=managedidentity</c> (with <c>__clientId</c> for a user-assigned identity) or nothing
    /// (DefaultAzureCredential: az login, environment, workload identity); anything else is refused, naming the setting.
    /// </summary>
    public static TokenCredential Credential(IConfigurationSection section, AzureComponentFactory factory)
    {
        var credential = section[Key(Settings.StorageCredential)];
        if (!string.IsNullOrWhiteSpace(credential) && !string.Equals(credential, "managedidentity", StringComparison.OrdinalIgnoreCase))
            throw new StorageConfigurationException($"setting {Settings.StorageCredential}='{credential}' is not supported (use 'managedidentity' or leave it unset)");
        return factory.CreateTokenCredential(section);
    }

    private static string? ConnectionString(IConfigurationSection section)
    {
        if (!string.IsNullOrWhiteSpace(section.Value)) return section.Value;
        if (section[Key(Settings.StorageBlobServiceUri)] is null && section[Key(Settings.StorageQueueServiceUri)] is null)
            throw new StorageConfigurationException(
                $"no storage configured: set {Settings.StorageConnection} (connection string) or both {Settings.StorageBlobServiceUri} and {Settings.StorageQueueServiceUri} (identity)");
        return null;
    }

    private static T Parse<T>(Func<T> create)
    {
        try { return create(); }
        catch (FormatException e) { throw new StorageConfigurationException($"setting {Settings.StorageConnection} is not a valid storage connection string: {e.Message}"); }
    }

    private static Uri ServiceUri(IConfigurationSection section, string name)
    {
        var value = section[Key(name)];
        if (string.IsNullOrWhiteSpace(value))
            throw new StorageConfigurationException(
                $"no storage configured: set {Settings.StorageConnection} (connection string) or both {Settings.StorageBlobServiceUri} and {Settings.StorageQueueServiceUri} (identity); {name} is missing");
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"
            ? uri
            : throw new StorageConfigurationException($"setting {name}='{value}' is not an absolute http(s) service URI");
    }
}
