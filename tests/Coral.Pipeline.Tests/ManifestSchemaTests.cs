using System.Text.Json.Nodes;
using Coral.Pipeline.Manifests;
using Coral.Testing;
using NJsonSchema;
using static Coral.Pipeline.Tests.PipelineTestKit;

namespace Coral.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public class ManifestSchemaTests(AzuriteFixture azurite)
{
    private static Task<JsonSchema> Schema() =>
        JsonSchema.FromFileAsync(RepoPaths.Combine("src", "Coral.Pipeline", "Manifests", ReviewManifest.SchemaFileName));

    private static async Task<string> GeneratedManifestJsonAsync(AzuriteFixture azurite, Func<Pipeline.Storage.PipelineStorage, string, Task>? after = null)
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s);
        await Generator(s).HandleAsync(job, default);
        if (after is not null) await after(s, job.JobId);
        return (await s.Manifests.GetBlobClient(job.JobId + ".json").DownloadContentAsync()).Value.Content.ToString();
    }

    [Fact]
    public async Task Generated_manifest_validates_against_the_schema_file()
    {
        var json = await GeneratedManifestJsonAsync(azurite);
        (await Schema()).Validate(json).Should().BeEmpty();
        JsonNode.Parse(json)!["schemaVersion"]!.GetValue<string>().Should().Be(ReviewManifest.CurrentVersion);
    }

    [Fact]
    public async Task Reviewed_manifest_still_validates()
    {
        var json = await GeneratedManifestJsonAsync(azurite, async (s, jobId) =>
        {
            var review = new Review.ReviewService(s);
            await review.SetStatusAsync(jobId, [0], ReviewStatus.Approved, "alice", default);
            await review.SetStatusAsync(jobId, [1], ReviewStatus.Rejected, "bob", default);
        });
        (await Schema()).Validate(json).Should().BeEmpty();
    }

    [Theory]
    [InlineData("images.0.status", "\"maybe\"")]
    [InlineData("source.sha256", "\"xyz\"")]
    [InlineData("schemaVersion", "\"2.0\"")]
    [InlineData("unexpected", "1")]
    public async Task The_schema_rejects_broken_manifests(string path, string value)
    {
        var node = JsonNode.Parse(await GeneratedManifestJsonAsync(azurite))!;
        var parts = path.Split('.');
        JsonNode target = node;
        foreach (var p in parts[..^1]) target = int.TryParse(p, out int i) ? target[i]! : target[p]!;
        target[parts[^1]] = JsonNode.Parse(value);
        (await Schema()).Validate(node.ToJsonString()).Should().NotBeEmpty();
    }
}
