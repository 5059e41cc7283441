using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Coral.Pipeline.Names;

namespace Coral.Pipeline.Storage;

/// <summary>The storage configuration is missing or unusable; names the setting.</summary>
public sealed class StorageConfigurationException(string message) : Exception(message), ICoralInputError;

/// <summary>
/// Clients for every container and queue the pipeline uses. In a host they come from
/// <c>Coral.Pipeline.PipelineServices.AddCoralPipeline</c> (the <c>CoralStorage</c> connection, see <see cref="StorageClients"/>);
/// tools and tests that hold a connection string use <see cref="FromConnectionString"/>.
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

    /// <summary>Creates every container and queue (idempotent); local hosts and tests call it, Bicep does it in Azure.</summary>
    public async Task EnsureCreatedAsync(CancellationToken ct = default)
    {
        foreach (var c in new[] { Incoming, Scores, Synthetic, Manifests, Curated, Receipts, Staging })
            await c.CreateIfNotExistsAsync(cancellationToken: ct);
        await Jobs.CreateIfNotExistsAsync(cancellationToken: ct);
        await JobsPoison.CreateIfNotExistsAsync(cancellationToken: ct);
    }
}
