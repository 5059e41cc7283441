using Azure.Core;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Introspection;
using Coral.Pipeline.Models.Introspection;
using Coral.Pipeline.Scoring;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Coral.Pipeline.Models.Tests.Introspection;

internal static class IntrospectionTestKit
{
    public const string Deployment = "vision-test";
    public const string Key = "test-key-0123456789";

    public static AzureOpenAiIntrospector KeyIntrospector(ChatCompletionsServer server, double timeoutSeconds = 20, int maxRetries = 2) =>
        new(new IntrospectionOptions
        {
            Endpoint = server.Endpoint, Deployment = Deployment, ApiKey = Key,
            Timeout = TimeSpan.FromSeconds(timeoutSeconds), MaxRetries = maxRetries,
        }, NullLogger<AzureOpenAiIntrospector>.Instance);

    /// <summary>A job and a batch like the generator's, without storage.</summary>
    public static async Task<IntrospectionRequest> RequestAsync(int images = 4)
    {
        var score = new FakeImageScorer().Score(TestPngs.Make(7), "flag-src.png", default);
        var job = new LongtailJob
        {
            JobId = JobIds.Derive("flag-src.png", "0x8DC0000000000001"),
            Source = new SourceBlob("incoming", "flag-src.png", "0x8DC0000000000001", new string('a', 64), 100),
            ClassifierVersion = "fake-classifier-1",
            Threshold = 0.5,
            Score = score,
            ImageCount = images,
        };
        var batch = await new FakeBatchGenerator().GenerateAsync(job, TestPngs.Make(7), default);
        return new IntrospectionRequest(job, TestPngs.Make(7), batch.Images);
    }
}

/// <summary>Entra ID stand-in: hands out a fixed token and remembers the scopes asked for.</summary>
internal sealed class FixedTokenCredential(string token) : TokenCredential
{
    public List<string> Scopes { get; } = [];

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        lock (Scopes) Scopes.AddRange(requestContext.Scopes);
        return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}
