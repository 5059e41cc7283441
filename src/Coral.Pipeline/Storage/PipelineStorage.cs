using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Coral.Pipeline.Contracts;
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
        // The decoding-failure handler sees only the queue; this tells it where an envelope too large for the poison queue goes.
        OverflowByQueue[Jobs.Uri.AbsoluteUri] = Staging;
    }

    /// <summary>Queue URI → the staging container of the same pipeline (<see cref="PoisonUndecodableAsync"/>).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, BlobContainerClient> OverflowByQueue = new();

    public string Prefix { get; }

    public BlobServiceClient Blobs { get; }
    public QueueServiceClient QueueService { get; }

    public BlobContainerClient Incoming => Blobs.GetBlobContainerClient(Prefix + Containers.Incoming);
    public BlobContainerClient Scores => Blobs.GetBlobContainerClient(Prefix + Containers.Scores);
    public BlobContainerClient Synthetic => Blobs.GetBlobContainerClient(Prefix + Containers.Synthetic);
    public BlobContainerClient Manifests => Blobs.GetBlobContainerClient(Prefix + Containers.Manifests);
    public BlobContainerClient Curated => Blobs.GetBlobContainerClient(Prefix + Containers.Curated);
    public BlobContainerClient Staging => Blobs.GetBlobContainerClient(Prefix + Containers.Staging);
    public QueueClient Jobs => QueueService.GetQueueClient(Prefix + Queues.LongtailJobs);
    public QueueClient JobsPoison => QueueService.GetQueueClient(Prefix + Queues.LongtailJobsPoison);

    /// <summary>
    /// Queue messages are base64, as the Functions host writes and expects them (host.json messageEncoding). A received
    /// message that is not valid base64 would make every receive fail and stop all generation: it goes to the poison
    /// queue with its reason instead (<see cref="PoisonUndecodableAsync"/>).
    /// </summary>
    public static QueueClientOptions QueueOptions() => ApplyQueueOptions(new QueueClientOptions());

    /// <summary>The pipeline's queue settings on options made elsewhere (the Azure client factory's).</summary>
    public static QueueClientOptions ApplyQueueOptions(QueueClientOptions options)
    {
        options.MessageEncoding = Defaults.QueueMessageEncoding == "base64" ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None;
        options.MessageDecodingFailed -= PoisonUndecodableAsync;   // idempotent: never two poison copies
        options.MessageDecodingFailed += PoisonUndecodableAsync;
        return options;
    }

    /// <summary>Poison queue of a queue: its name plus "-poison", as the Functions host names it.</summary>
    public const string PoisonSuffix = "-poison";

    private static async Task PoisonUndecodableAsync(QueueMessageDecodingFailedEventArgs e)
    {
        if (e.ReceivedMessage is not { } m) return;   // a peek changes nothing: the next receive handles it
        var poison = Azure.Storage.Queues.Specialized.SpecializedQueueExtensions.GetParentQueueServiceClient(e.Queue).GetQueueClient(e.Queue.Name + PoisonSuffix);
        var envelope = new PoisonEnvelope(m.Body.ToString(), m.MessageId, m.DequeueCount,
            $"message is not valid {Defaults.QueueMessageEncoding} (the queue expects {Defaults.QueueMessageEncoding}-encoded JSON)", e.Queue.Name, DateTimeOffset.UtcNow);
        // A raw body near the 64 KiB limit does not fit once wrapped: its envelope goes to staging/poison/… (PoisonMessages).
        var overflow = OverflowByQueue.GetValueOrDefault(e.Queue.Uri.AbsoluteUri);
        // Send first, then delete: a crash in between duplicates into poison (harmless) instead of losing the message.
        if (e.IsRunningSynchronously)
        {
            if (overflow is null) poison.SendMessage(PipelineJson.Serialize(envelope).ToString(), cancellationToken: e.CancellationToken);
            else PoisonMessages.SendAsync(poison, overflow, envelope, e.CancellationToken).GetAwaiter().GetResult(); // the SDK's sync receive: wait for the write
            e.Queue.DeleteMessage(m.MessageId, m.PopReceipt, e.CancellationToken);
        }
        else
        {
            if (overflow is null) await poison.SendMessageAsync(PipelineJson.Serialize(envelope).ToString(), e.CancellationToken);
            else await PoisonMessages.SendAsync(poison, overflow, envelope, e.CancellationToken);
            await e.Queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, e.CancellationToken);
        }
    }

    public static PipelineStorage FromConnectionString(string connectionString, string prefix = "")
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new StorageConfigurationException($"storage connection string is empty (setting {Settings.StorageConnection})");
        try
        {
            return new PipelineStorage(new BlobServiceClient(connectionString, StorageClients.WithTimeout(new BlobClientOptions())),
                new QueueServiceClient(connectionString, StorageClients.WithTimeout(QueueOptions())), prefix);
        }
        catch (FormatException e)
        {
            throw new StorageConfigurationException($"setting {Settings.StorageConnection} is not a valid storage connection string: {e.Message}");
        }
    }

    /// <summary>Creates every container and queue (idempotent); local hosts and tests call it, Bicep does it in Azure.</summary>
    public async Task EnsureCreatedAsync(CancellationToken ct = default)
    {
        foreach (var c in new[] { Incoming, Scores, Synthetic, Manifests, Curated, Staging })
            await c.CreateIfNotExistsAsync(cancellationToken: ct);
        await Jobs.CreateIfNotExistsAsync(cancellationToken: ct);
        await JobsPoison.CreateIfNotExistsAsync(cancellationToken: ct);
    }
}
