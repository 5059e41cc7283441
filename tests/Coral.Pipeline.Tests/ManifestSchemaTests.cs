using System.Text.Json.Nodes;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Manifests;
using Coral.Testing;
using NJsonSchema;
using static Coral.Testing.PipelineTestKit;

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
            await review.SetStatusAsync(jobId, [0], ReviewStatus.Approved, "alice", default, new Review.ClassLabels { ConfirmTargets = true, Source = Coral.Testing.FakeImageScorer.Classes[0] });
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

    private const string Described =
        "{\"status\":\"described\",\"deployment\":\"introspection\",\"model\":\"gpt-4o-mini\",\"endpointHost\":\"oai.example\",\"auth\":\"entraId\"," +
        "\"description\":\"Folded shirts.\",\"attempts\":1,\"seconds\":0.8,\"at\":\"2026-01-01T00:00:00+00:00\"}";
    private const string Failed =
        "{\"status\":\"failed\",\"deployment\":\"introspection\",\"endpointHost\":\"oai.example\",\"auth\":\"apiKey\"," +
        "\"error\":\"HTTP 500 (3 requests)\",\"attempts\":3,\"seconds\":2.5,\"at\":\"2026-01-01T00:00:00+00:00\"}";

    [Theory]
    [InlineData(Described)]
    [InlineData(Failed)]
    public async Task Described_and_failed_introspection_records_validate_and_round_trip(string introspection)
    {
        var node = JsonNode.Parse(await GeneratedManifestJsonAsync(azurite))!;
        node["introspection"] = JsonNode.Parse(introspection);
        (await Schema()).Validate(node.ToJsonString()).Should().BeEmpty();
        var manifest = PipelineJson.Deserialize<ReviewManifest>(BinaryData.FromString(node.ToJsonString()), "test");
        JsonNode.DeepEquals(JsonNode.Parse(PipelineJson.Serialize(manifest).ToString())!["introspection"], JsonNode.Parse(introspection)).Should().BeTrue();
    }

    [Theory]
    [InlineData(Described, "error", "\"also an error\"")]
    [InlineData(Described, "description", null)]
    [InlineData(Failed, "error", null)]
    [InlineData(Failed, "status", "\"maybe\"")]
    [InlineData(Described, "auth", "\"password\"")]
    [InlineData(Described, "attempts", "-1")]
    public async Task The_schema_rejects_inconsistent_introspection_records(string introspection, string field, string? value)
    {
        var node = JsonNode.Parse(await GeneratedManifestJsonAsync(azurite))!;
        var record = JsonNode.Parse(introspection)!.AsObject();
        if (value is null) record.Remove(field);
        else record[field] = JsonNode.Parse(value);
        node["introspection"] = record;
        (await Schema()).Validate(node.ToJsonString()).Should().NotBeEmpty();
    }
}
