using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Coral.Testing;

public static class PipelineTestKit
{
    public static async Task<List<string>> NamesAsync(BlobContainerClient c, string? prefix = null)
    {
        var names = new List<string>();
        await foreach (var b in c.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, default)) names.Add(b.Name);
        return names;
    }

    /// <summary>Uploads a flagged image and scores it: returns the job the scorer emitted.</summary>
    public static async Task<LongtailJob> FlaggedJobAsync(PipelineStorage s, string name = "flag-src.png", int images = 3, int variant = 7)
    {
        var blob = s.Incoming.GetBlobClient(name);
        await blob.UploadAsync(BinaryData.FromBytes(TestPngs.Make(variant)), overwrite: true);
        var result = await new ScoreHandler(s, new FakeImageScorer(), new ScoringOptions { ImagesPerJob = images }, NullLogger<ScoreHandler>.Instance)
            .HandleAsync(blob, default);
        return result!.Job ?? throw new InvalidOperationException("not flagged");
    }

    public static GenerateHandler Generator(PipelineStorage s, FakeBatchGenerator? g = null) =>
        new(s, g ?? new FakeBatchGenerator(), NullLogger<GenerateHandler>.Instance, TimeSpan.FromSeconds(15));
}
