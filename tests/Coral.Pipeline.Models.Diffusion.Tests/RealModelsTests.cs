using Coral.Data;
using Coral.Imaging;
using Coral.LocalHost.Audit;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Models.Diffusion;
using Coral.Pipeline.Models;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using NJsonSchema;
using static Coral.Testing.PipelineTestKit;

namespace Coral.Pipeline.Models.Diffusion.Tests;

/// <summary>The shipped checkpoints behind the seams: real Fashion-MNIST images through the same local host.</summary>
[Collection(AzuriteCollection.Name)]
public class RealModelsTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Shipped_classifier_and_ltg_generator_score_and_batch_real_images()
    {
        using var scorer = ClassifierImageScorer.Load(ModelPaths.Resolve(Defaults.ClassifierPath), Defaults.MaxInputBytes);
        using var generator = LtgBatchGenerator.Load(ModelPaths.Resolve(Defaults.DiffusionPath), ModelPaths.Resolve(Defaults.ClassifierPath));
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var test = FashionMnist.Load(FashionMnist.Split.Test);
        for (int i = 0; i < 4; i++)
        {
            var png = ImageCodec.EncodePng(new ImageTensor(test.Image(i).ToArray().Select(b => b / 255f).ToArray(), 1, 28, 28));
            await s.Incoming.GetBlobClient($"fm-{i}.png").UploadAsync(BinaryData.FromBytes(png));
        }
        await s.Incoming.GetBlobClient("corrupt.png").UploadAsync(BinaryData.FromBytes([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]));
        // Threshold below every signal: all real images are flagged, so every one gets a real LTG batch.
        var host = new LocalPipelineHost(s,
            new ScoreHandler(s, scorer, new ScoringOptions { Threshold = double.MinValue, ImagesPerJob = 2 }, NullLogger<ScoreHandler>.Instance),
            new GenerateHandler(s, generator, NullLogger<GenerateHandler>.Instance),
            new LocalHostOptions { ScanInterval = TimeSpan.FromMilliseconds(100), UntilIdle = true }, NullLoggerFactory.Instance);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await host.RunAsync(cts.Token);

        var summary = await PipelineSummary.ReadAsync(s, default);
        summary.Should().Match<PipelineSummary>(x => x.Incoming == 5 && x.Flagged == 4 && x.Rejected == 1 && x.Batches == 4 && x.SyntheticImages == 8);
        var schema = await JsonSchema.FromFileAsync(RepoPaths.Combine("src", "Coral.Pipeline", "Manifests", ReviewManifest.SchemaFileName));
        foreach (var name in (await NamesAsync(s.Manifests)).Where(n => n.EndsWith(".json")))
        {
            var json = (await s.Manifests.GetBlobClient(name).DownloadContentAsync()).Value.Content.ToString();
            schema.Validate(json).Should().BeEmpty();
            json.Should().Contain(scorer.ModelVersion).And.Contain("diffusion-");
        }
    }
}
