using System.Diagnostics;
using System.Text.Json.Nodes;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Introspection;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Storage;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using NJsonSchema;
using static Coral.Pipeline.Models.Tests.Introspection.IntrospectionTestKit;
using static Coral.Testing.PipelineTestKit;

namespace Coral.Pipeline.Models.Tests.Introspection;

/// <summary>GenerateHandler with introspection against the local chat-completions server, storage on Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public class IntrospectedBatchTests(AzuriteFixture azurite)
{
    private static GenerateHandler Handler(PipelineStorage s, ILongtailIntrospector introspector) =>
        new(s, new FakeBatchGenerator(), NullLogger<GenerateHandler>.Instance, TimeSpan.FromSeconds(15), introspector);

    private static async Task<(ReviewManifest Manifest, string Json, string Page)> CommittedAsync(PipelineStorage s, string jobId)
    {
        string json = (await s.Manifests.GetBlobClient(jobId + ".json").DownloadContentAsync()).Value.Content.ToString();
        string page = (await s.Manifests.GetBlobClient(BlobPaths.ReviewPage(jobId)).DownloadContentAsync()).Value.Content.ToString();
        var schema = await JsonSchema.FromFileAsync(RepoPaths.Combine("src", "Coral.Pipeline", "Manifests", ReviewManifest.SchemaFileName));
        schema.Validate(json).Should().BeEmpty();
        return (PipelineJson.Deserialize<ReviewManifest>(BinaryData.FromString(json), jobId), json, page);
    }

    [Fact]
    public async Task The_description_lands_in_the_manifest_and_escaped_on_the_review_page()
    {
        const string answer = "Sneakers <b>seen</b> from above & cropped.";
        await using var server = new ChatCompletionsServer(answer: answer);
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s, images: 4);

        (await Handler(s, KeyIntrospector(server)).HandleAsync(job, default)).Should().Be(GenerateOutcome.Generated);

        var (manifest, json, page) = await CommittedAsync(s, job.JobId);
        manifest.Introspection!.Status.Should().Be(IntrospectionStatus.Described);
        manifest.Introspection.Description.Should().Be(answer);
        manifest.Introspection.Deployment.Should().Be(Deployment);
        manifest.Introspection.Model.Should().Be(server.ModelName);
        manifest.Introspection.EndpointHost.Should().Be(server.Endpoint.Host);
        manifest.Introspection.At.Should().BeOnOrBefore(manifest.CreatedAt);
        JsonNode.Parse(json)!["introspection"]!["status"]!.GetValue<string>().Should().Be("described");
        page.Should().Contain("<blockquote id=\"introspection-description\">Sneakers &lt;b&gt;seen&lt;/b&gt; from above &amp; cropped.</blockquote>");
        page.Should().NotContain("<b>seen</b>");

        // The contact sheet shows the batch the manifest lists: one request, two images.
        var parts = server.Requests.Should().ContainSingle().Subject.Body!["messages"]![1]!["content"]!.AsArray();
        parts.Count(p => p!["type"]!.GetValue<string>() == "image_url").Should().Be(2);
    }

    [Theory]
    [InlineData(ChatCompletionsServer.Mode.Status500)]
    [InlineData(ChatCompletionsServer.Mode.Hang)]
    [InlineData(ChatCompletionsServer.Mode.Garbage)]
    public async Task A_failing_endpoint_never_blocks_the_batch_and_the_failure_is_recorded(ChatCompletionsServer.Mode mode)
    {
        await using var server = new ChatCompletionsServer(mode);
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s, images: 3);
        var clock = Stopwatch.StartNew();

        var outcome = await Handler(s, KeyIntrospector(server, timeoutSeconds: 3, maxRetries: 2)).HandleAsync(job, default);

        outcome.Should().Be(GenerateOutcome.Generated);
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30), "introspection is bounded by its 3 s deadline");
        (await NamesAsync(s.Synthetic)).Should().HaveCount(3);
        var (manifest, _, page) = await CommittedAsync(s, job.JobId);
        manifest.Images.Should().HaveCount(3);
        manifest.Introspection!.Status.Should().Be(IntrospectionStatus.Failed);
        manifest.Introspection.Description.Should().BeNull();
        manifest.Introspection.Error.Should().NotBeNullOrWhiteSpace();
        manifest.Introspection.Attempts.Should().Be(server.Requests.Count).And.BeInRange(1, 3, "at most one try and two retries");
        page.Should().Contain("id=\"introspection-error\"");
    }

    [Fact]
    public async Task An_introspector_that_throws_is_recorded_as_failed_and_the_batch_commits()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s);

        (await Handler(s, new ThrowingIntrospector()).HandleAsync(job, default)).Should().Be(GenerateOutcome.Generated);

        var (manifest, _, _) = await CommittedAsync(s, job.JobId);
        manifest.Introspection!.Status.Should().Be(IntrospectionStatus.Failed);
        manifest.Introspection.Error.Should().Contain("boom");
    }

    [Fact]
    public async Task Without_introspection_the_manifest_has_no_introspection_field()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s);

        await Handler(s, NoIntrospection.Instance).HandleAsync(job, default);

        var (_, json, page) = await CommittedAsync(s, job.JobId);
        JsonNode.Parse(json)!.AsObject().ContainsKey("introspection").Should().BeFalse();
        page.Should().NotContain("id=\"introspection\"");
    }

    private sealed class ThrowingIntrospector : ILongtailIntrospector
    {
        public Task<ManifestIntrospection?> DescribeAsync(IntrospectionRequest request, CancellationToken ct) =>
            throw new InvalidOperationException("boom");
    }
}
