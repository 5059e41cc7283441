using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs;
using Azure;
using Coral.Pipeline.Contracts;

namespace Coral.Pipeline.Storage;

/// <summary>
/// Temp-then-commit writes: the bytes go to a unique blob in the staging container (never listed by readers),
/// then a server-side copy commits them under the final name. With <c>createOnly</c> the commit is
/// If-None-Match: *, so concurrent duplicate deliveries produce one output and the loser learns it lost.
/// </summary>
public sealed class AtomicBlobWriter(PipelineStorage storage)
{
    /// <summary>Returns false when <paramref name="createOnly"/> is set and the final blob already existed.</summary>
    public async Task<bool> CommitAsync(BlobContainerClient container, string blobName, BinaryData content, string contentType,
        bool createOnly, CancellationToken ct)
    {
        var staged = await StageAsync(container.Name, blobName, content, contentType, ct);
        try
        {
            return await CommitStagedAsync(staged, container.GetBlobClient(blobName), createOnly, ct);
        }
        finally
        {
            await DeleteQuietlyAsync(staged);
        }
    }

    /// <summary>Uploads to a unique staging name, to be committed later (several blobs staged, then copied).</summary>
    public async Task<BlobClient> StageAsync(string container, string blobName, BinaryData content, string contentType, CancellationToken ct)
    {
        var staged = storage.Staging.GetBlobClient(BlobPaths.Staged(container, blobName));
        await staged.UploadAsync(content, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } }, ct);
        return staged;
    }

    /// <summary>Server-side copy of a staged blob to its final name; waits until the copy is complete.</summary>
    public static async Task<bool> CommitStagedAsync(BlobClient staged, BlobClient final, bool createOnly, CancellationToken ct)
    {
        var options = new BlobCopyFromUriOptions();
        if (createOnly) options.DestinationConditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
        try
        {
            var copy = await final.StartCopyFromUriAsync(staged.Uri, options, ct);
            await copy.WaitForCompletionAsync(ct);
            return true;
        }
        catch (RequestFailedException e) when (createOnly && (e.Status == 409 || e.Status == 412))
        {
            return false; // someone committed first: their output stands
        }
        catch (InvalidOperationException)
        {
            // A concurrent copy to the same name superseded ours. Its content stands, if its copy completed.
            var props = (await final.GetPropertiesAsync(cancellationToken: ct)).Value;
            for (var deadline = DateTime.UtcNow.AddSeconds(30); props.CopyStatus == CopyStatus.Pending && DateTime.UtcNow < deadline;)
            {
                await Task.Delay(100, ct); // the other writer's server-side copy is still running
                props = (await final.GetPropertiesAsync(cancellationToken: ct)).Value;
            }
            if (props.CopyStatus == CopyStatus.Success) return !createOnly;
            throw new IOException($"{final.BlobContainerName}/{final.Name}: concurrent copy ended as {props.CopyStatus}");
        }
    }

    public static async Task DeleteQuietlyAsync(BlobClient blob)
    {
        // Leftover staging blobs are harmless (nobody reads them); never fail a job over cleanup.
        try { await blob.DeleteIfExistsAsync(); }
        catch (RequestFailedException) { }
    }
}
