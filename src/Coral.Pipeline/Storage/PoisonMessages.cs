using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Coral.Pipeline.Contracts;

namespace Coral.Pipeline.Storage;

/// <summary>
/// Writing to and reading from a poison queue without ever failing on size: a queue message holds at most 64 KiB after
/// base64, so a large job wrapped in its envelope does not fit (it used to fail with 413 and be retried forever). Such an
/// envelope goes to staging/poison/… as a blob and the queue gets a small copy that names it.
/// </summary>
public static class PoisonMessages
{
    /// <summary>Azure Queue Storage's limit on one message, as stored (after base64).</summary>
    public const int MaxQueueMessageBytes = 64 * 1024;

    public static bool FitsInQueue(string text) => 4 * ((System.Text.Encoding.UTF8.GetByteCount(text) + 2) / 3) <= MaxQueueMessageBytes;

    public static async Task SendAsync(QueueClient poison, BlobContainerClient overflow, PoisonEnvelope envelope, CancellationToken ct)
    {
        string text = PipelineJson.Serialize(envelope).ToString();
        if (FitsInQueue(text)) { await poison.SendMessageAsync(text, ct); return; }
        string path = BlobPaths.PoisonEnvelope(poison.Name, envelope.MessageId);
        // Blob first, then the small message: a crash in between leaves a blob the audit lists, never a message without it.
        await overflow.GetBlobClient(path).UploadAsync(BinaryData.FromString(text), overwrite: true, ct);
        var small = envelope with { OriginalMessage = "", EnvelopeBlob = $"{overflow.Name}/{path}" };
        await poison.SendMessageAsync(PipelineJson.Serialize(small).ToString(), ct);
    }

    /// <summary>The original message of a poison envelope, read from its blob when it was too large for the queue.</summary>
    public static async Task<string> OriginalAsync(PoisonEnvelope envelope, BlobContainerClient overflow, string context, CancellationToken ct)
    {
        if (envelope.EnvelopeBlob is not { } blob) return envelope.OriginalMessage;
        var full = PipelineJson.Deserialize<PoisonEnvelope>((await overflow.GetBlobClient(BlobName(blob, overflow)).DownloadContentAsync(ct)).Value.Content, context);
        return full.OriginalMessage;
    }

    /// <summary>Deletes the blob of an envelope that named one (after its message was replayed).</summary>
    public static async Task DeleteBlobAsync(PoisonEnvelope envelope, BlobContainerClient overflow, CancellationToken ct)
    {
        if (envelope.EnvelopeBlob is { } blob) await overflow.GetBlobClient(BlobName(blob, overflow)).DeleteIfExistsAsync(cancellationToken: ct);
    }

    private static string BlobName(string reference, BlobContainerClient overflow)
    {
        string prefix = overflow.Name + "/";
        if (!reference.StartsWith(prefix, StringComparison.Ordinal) || !reference[prefix.Length..].StartsWith(BlobPaths.PoisonEnvelopesPrefix, StringComparison.Ordinal) || reference.Contains(".."))
            throw new PipelineDataException("poison envelope", $"names blob '{reference}', which is not under {prefix}{BlobPaths.PoisonEnvelopesPrefix}");
        return reference[prefix.Length..];
    }
}
