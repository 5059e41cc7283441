using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Coral.Pipeline.Names;

namespace Coral.Pipeline.Storage;

/// <summary>The storage configuration is missing or unusable; names the setting.</summary>
public sealed class StorageConfigurationException(string message) : Exception(message), ICoralInputError;

/// <summary>
/// Clients for every container and queue the pipeline uses, built from one connection setting:
/// a connection string, or identity-based (<c>{setting}__blobServiceUri</c> and <c>__queueServiceUri</c>).
/// </summary>
public sealed class PipelineStorage
{
    /// <param name="prefix">Prepended to every container and queue name: lets several pipelines (or tests)
    /// share one account. Empty in production, where the names must match the Functions bindings.</param>
    public PipelineStorage(BlobServiceClient blobs, QueueServiceClient queues, string prefix = "")
    {
        Blobs = blobs;
        QueueService = queues;
        Prefix = prefix;
    }

    public string Prefix { get; }

    public BlobServiceClient Blobs { get; }
    public QueueServiceClient QueueService { get; }

    public BlobContainerClient Incoming => Blobs.GetBlobContainerClient(Prefix + Containers.Incoming);
    public BlobContainerClient Scores => Blobs.GetBlobContainerClient(Prefix + Containers.Scores);
    public BlobContainerClient Synthetic => Blobs.GetBlobContainerClient(Prefix + Containers.Synthetic);
    public BlobContainerClient Manifests => Blobs.GetBlobContainerClient(Prefix + Containers.Manifests);
    public BlobContainerClient Curated => Blobs.GetBlobContainerClient(Prefix + Containers.Curated);
    public BlobContainerClient Receipts => Blobs.GetBlobContainerClient(Prefix + Containers.Receipts);
    public BlobContainerClient Staging => Blobs.GetBlobContainerClient(Prefix + Containers.Staging);
    public QueueClient Jobs => QueueService.GetQueueClient(Prefix + Queues.LongtailJobs);
    public QueueClient JobsPoison => QueueService.GetQueueClient(Prefix + Queues.LongtailJobsPoison);

    /// <summary>Queue messages are base64, as the Functions host writes and expects them (host.json messageEncoding).</summary>
    public static QueueClientOptions QueueOptions() => new()
    {
        MessageEncoding = Defaults.QueueMessageEncoding == "base64" ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None,
    };

    public static PipelineStorage FromConnectionString(string connectionString, string prefix = "")
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new StorageConfigurationException($"storage connection string is empty (setting {Settings.StorageConnection})");
        try
        {
            return new PipelineStorage(new BlobServiceClient(connectionString), new QueueServiceClient(connectionString, QueueOptions()), prefix);
        }
        catch (FormatException e)
        {
            throw new StorageConfigurationException($"setting {Settings.StorageConnection} is not a valid storage connection string: {e.Message}");
        }
    }

    /// <summary>Reads the connection the way the Functions host does: the setting itself, or its identity-based settings.</summary>
    /// <param name="setting">Reads one setting by its app-setting name (<c>CoralStorage__blobServiceUri</c> style).</param>
    /// <param name="prefix">Container/queue name prefix, as in the constructor.</param>
    public static PipelineStorage FromSettings(Func<string, string?> setting, string prefix = "")
    {
        var cs = setting(Settings.StorageConnection);
        if (!string.IsNullOrWhiteSpace(cs)) return FromConnectionString(cs, prefix);
        var blobUri = ServiceUri(setting, Settings.StorageBlobServiceUri);
        var queueUri = ServiceUri(setting, Settings.StorageQueueServiceUri);
        if (blobUri is null || queueUri is null)
            throw new StorageConfigurationException(
                $"no storage configured: set {Settings.StorageConnection} (connection string) or both {Settings.StorageBlobServiceUri} and {Settings.StorageQueueServiceUri} (identity)");
        var credential = Credential(setting(Settings.StorageCredential), setting(Settings.StorageClientId));
        return new PipelineStorage(new BlobServiceClient(blobUri, credential),
            new QueueServiceClient(queueUri, credential, QueueOptions()), prefix);
    }

    /// <summary>
    /// The credential the Functions host would use: <c>__credential=managedidentity</c> with <c>__clientId</c> picks that
    /// user-assigned identity; anything else falls back to DefaultAzureCredential (az login, environment, workload identity).
    /// </summary>
    public static TokenCredential Credential(string? credential, string? clientId)
    {
        if (string.Equals(credential, "managedidentity", StringComparison.OrdinalIgnoreCase))
            return string.IsNullOrWhiteSpace(clientId)
                ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
        if (!string.IsNullOrWhiteSpace(credential))
            throw new StorageConfigurationException($"setting {Settings.StorageCredential}='{credential}' is not supported (use 'managedidentity' or leave it unset)");
        return new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = string.IsNullOrWhiteSpace(clientId) ? null : clientId });
    }

    private static Uri? ServiceUri(Func<string, string?> setting, string name)
    {
        var value = setting(name);
        if (string.IsNullOrWhiteSpace(value)) return null;
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"
            ? uri
            : throw new StorageConfigurationException($"setting {name}='{value}' is not an absolute http(s) service URI");
    }

    /// <summary>Creates every container and queue (idempotent); local hosts and tests call it, Bicep does it in Azure.</summary>
    public async Task EnsureCreatedAsync(CancellationToken ct = default)
    {
        foreach (var c in new[] { Incoming, Scores, Synthetic, Manifests, Curated, Receipts, Staging })
            await c.CreateIfNotExistsAsync(cancellationToken: ct);
        await Jobs.CreateIfNotExistsAsync(cancellationToken: ct);
        await JobsPoison.CreateIfNotExistsAsync(cancellationToken: ct);
    }
}
