using Azure;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Logging;

namespace Coral.LocalHost.Serving;

/// <summary>
/// Puts field images into incoming/ for `coral serve`: a folder of your own images, or real Fashion-MNIST test images
/// (the zero-setup demo). Names are stable and uploads never overwrite: re-running does not make new inputs.
/// </summary>
public static class FieldUploads
{
    /// <summary>Every image file under <paramref name="dir"/> to incoming/&lt;folder name&gt;/&lt;relative path&gt;; returns how many were new.</summary>
    public static async Task<int> UploadFolderAsync(PipelineStorage storage, string dir, ILogger log, CancellationToken ct)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such folder to upload");
        string root = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
        var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => Coral.Imaging.ImageCodec.FileExtensions.Contains(Path.GetExtension(f)) && !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal).ToList();
        int added = 0;
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (file, token) =>
        {
            string name = root + "/" + Path.GetRelativePath(dir, file).Replace('\\', '/');
            if (await UploadOnceAsync(storage, name, BinaryData.FromBytes(await File.ReadAllBytesAsync(file, token)), token)) Interlocked.Increment(ref added);
        });
        log.LogInformation("Uploaded {Added} new of {Count} images from {Dir} to {Container}/{Root}/", added, files.Count, dir, storage.Incoming.Name, root);
        return added;
    }

    /// <summary>Real field-like data: the first n Fashion-MNIST test images as PNG blobs.</summary>
    public static async Task<int> UploadFashionMnistAsync(PipelineStorage storage, int n, ILogger log, CancellationToken ct)
    {
        var test = Coral.Data.FashionMnist.Load(Coral.Data.FashionMnist.Split.Test);
        n = Math.Min(n, test.Count);
        int added = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, token) =>
        {
            var png = Coral.Imaging.ImageCodec.EncodePng(test.Tensor(i));
            if (await UploadOnceAsync(storage, $"fashion-mnist/test-{i:D5}.png", BinaryData.FromBytes(png), token)) Interlocked.Increment(ref added);
        });
        log.LogInformation("Uploaded {Count} Fashion-MNIST test images to {Container}/fashion-mnist/", n, storage.Incoming.Name);
        return added;
    }

    // Never overwrite: a re-upload would be a new input (new ETag) and be scored again.
    private static async Task<bool> UploadOnceAsync(PipelineStorage storage, string name, BinaryData data, CancellationToken ct)
    {
        try { await storage.Incoming.GetBlobClient(name).UploadAsync(data, overwrite: false, ct); return true; }
        catch (RequestFailedException e) when (e.Status == 409) { return false; }
    }
}
