using System.Diagnostics;
using System.Text.Json.Nodes;
using Coral.Imaging;
using Coral.Pipeline.Introspection;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Models.Introspection;
using Coral.Pipeline.Names;
using Microsoft.Extensions.Logging.Abstractions;
using static Coral.Pipeline.Models.Tests.Introspection.IntrospectionTestKit;

namespace Coral.Pipeline.Models.Tests.Introspection;

/// <summary>The introspector against a real local HTTP server speaking the chat-completions protocol.</summary>
public class AzureOpenAiIntrospectorTests
{
    private static byte[] DataUrlPng(JsonNode part)
    {
        part["type"]!.GetValue<string>().Should().Be("image_url");
        string url = part["image_url"]!["url"]!.GetValue<string>();
        url.Should().StartWith("data:image/png;base64,");
        return Convert.FromBase64String(url["data:image/png;base64,".Length..]);
    }

    [Fact]
    public async Task With_a_key_it_posts_the_source_and_a_contact_sheet_as_data_urls_and_returns_the_description()
    {
        await using var server = new ChatCompletionsServer(answer: "  Shirts photographed folded, showing only a collar.  ");
        var request = await RequestAsync(images: 5);

        var result = await KeyIntrospector(server).DescribeAsync(request, default);

        result.Should().NotBeNull();
        result!.Status.Should().Be(IntrospectionStatus.Described);
        result.Description.Should().Be("Shirts photographed folded, showing only a collar.");
        result.Error.Should().BeNull();
        result.Deployment.Should().Be(Deployment);
        result.Model.Should().Be(server.ModelName);
        result.EndpointHost.Should().Be("127.0.0.1");
        result.Auth.Should().Be(IntrospectionAuth.ApiKey);
        result.Attempts.Should().Be(1);

        var req = server.Requests.Should().ContainSingle().Subject;
        req.Method.Should().Be("POST");
        req.PathAndQuery.Should().StartWith($"/openai/deployments/{Deployment}/chat/completions?api-version=");
        req.Headers["api-key"].Should().Be(Key);
        req.Headers.Should().NotContainKey("Authorization");
        var messages = req.Body!["messages"]!.AsArray();
        messages[0]!["role"]!.GetValue<string>().Should().Be("system");
        var user = messages[1]!;
        user["role"]!.GetValue<string>().Should().Be("user");
        var parts = user["content"]!.AsArray();
        parts[0]!["type"]!.GetValue<string>().Should().Be("text");
        parts[0]!["text"]!.GetValue<string>().Should().Contain(request.Job.Score.PredictedLabel).And.Contain("5 synthetic images");

        // Image 1: the 28 px source, enlarged to the minimum side; image 2: a 3x2 sheet of 5 tiles.
        var source = ImageCodec.Decode(DataUrlPng(parts[1]!), ImageDecodeOptions.Default, "source part");
        (source.Width, source.Height).Should().Be((ContactSheet.MinSide, ContactSheet.MinSide));
        var sheet = ImageCodec.Decode(DataUrlPng(parts[2]!), ImageDecodeOptions.Default, "sheet part");
        (sheet.Width, sheet.Height).Should().Be((3 * ContactSheet.TileSide + 4 * 4, 2 * ContactSheet.TileSide + 3 * 4));
    }

    [Fact]
    public async Task With_entra_id_it_sends_a_bearer_token_for_the_cognitive_services_scope()
    {
        await using var server = new ChatCompletionsServer();
        var credential = new FixedTokenCredential("entra-token-abc");
        var introspector = new AzureOpenAiIntrospector(new IntrospectionOptions
        {
            Endpoint = server.Endpoint, Deployment = Deployment, Credential = credential, Timeout = TimeSpan.FromSeconds(20),
        }, NullLogger<AzureOpenAiIntrospector>.Instance);

        var result = await introspector.DescribeAsync(await RequestAsync(), default);

        result!.Status.Should().Be(IntrospectionStatus.Described, result.Error);
        result.Auth.Should().Be(IntrospectionAuth.EntraId);
        var req = server.Requests.Should().ContainSingle().Subject;
        req.Headers["Authorization"].Should().Be("Bearer entra-token-abc");
        req.Headers.Should().NotContainKey("api-key");
        credential.Scopes.Should().Contain(s => s.StartsWith("https://cognitiveservices.azure.com", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_error_is_retried_a_bounded_number_of_times_then_recorded_as_failed()
    {
        await using var server = new ChatCompletionsServer(ChatCompletionsServer.Mode.Status500);

        var result = await KeyIntrospector(server, maxRetries: 2).DescribeAsync(await RequestAsync(), default);

        result!.Status.Should().Be(IntrospectionStatus.Failed);
        result.Description.Should().BeNull();
        result.Error.Should().Contain("HTTP 500").And.Contain("3 requests");
        server.Requests.Should().HaveCount(3, "one try and two retries, then it gives up");
        result.Attempts.Should().Be(3);
    }

    [Fact]
    public async Task A_transient_error_then_an_answer_is_described_after_a_retry()
    {
        await using var server = new ChatCompletionsServer { Behave = n => n == 0 ? ChatCompletionsServer.Mode.Status500 : ChatCompletionsServer.Mode.Answer };

        var result = await KeyIntrospector(server).DescribeAsync(await RequestAsync(), default);

        result!.Status.Should().Be(IntrospectionStatus.Described, result.Error);
        result.Attempts.Should().Be(2);
        server.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task A_hanging_server_is_abandoned_at_the_deadline_with_bounded_tries()
    {
        await using var server = new ChatCompletionsServer(ChatCompletionsServer.Mode.Hang);
        var clock = Stopwatch.StartNew();

        var result = await KeyIntrospector(server, timeoutSeconds: 3, maxRetries: 2).DescribeAsync(await RequestAsync(), default);

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "the whole call has a 3 s deadline");
        result!.Status.Should().Be(IntrospectionStatus.Failed);
        result.Error.Should().Contain("no answer within 3 s");
        server.Requests.Count.Should().BeInRange(1, 3);
        result.Attempts.Should().Be(server.Requests.Count);
    }

    [Theory]
    [InlineData(ChatCompletionsServer.Mode.Garbage, "unreadable response")]
    [InlineData(ChatCompletionsServer.Mode.EmptyChoices, "no choices")]
    public async Task An_unreadable_or_empty_answer_is_recorded_as_failed_without_retrying(ChatCompletionsServer.Mode mode, string reason)
    {
        await using var server = new ChatCompletionsServer(mode);

        var result = await KeyIntrospector(server).DescribeAsync(await RequestAsync(), default);

        result!.Status.Should().Be(IntrospectionStatus.Failed);
        result.Error.Should().Contain(reason);
        server.Requests.Should().HaveCount(1, "a 200 with a bad body is not transient");
    }

    [Fact]
    public async Task A_long_description_is_cut_and_the_key_never_appears_in_a_failure()
    {
        await using var server = new ChatCompletionsServer(answer: new string('x', 5000));
        var described = await KeyIntrospector(server).DescribeAsync(await RequestAsync(), default);
        described!.Description!.Length.Should().BeLessThanOrEqualTo(AzureOpenAiIntrospector.MaxDescriptionChars + 1);

        server.Behave = _ => ChatCompletionsServer.Mode.Status500;
        var failed = await KeyIntrospector(server, maxRetries: 0).DescribeAsync(await RequestAsync(), default);
        failed!.Error.Should().NotContain(Key);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_swallowed()
    {
        await using var server = new ChatCompletionsServer(ChatCompletionsServer.Mode.Hang);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await FluentActions.Awaiting(() => KeyIntrospector(server).DescribeAsync(RequestAsync().Result, cts.Token))
            .Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task No_introspection_returns_nothing()
    {
        (await NoIntrospection.Instance.DescribeAsync(await RequestAsync(), default)).Should().BeNull();
    }
}

public class IntrospectionOptionsTests
{
    private static Func<string, string?> Settings(params (string, string)[] values) =>
        k => values.FirstOrDefault(v => v.Item1 == k).Item2;

    [Fact]
    public void Off_when_no_endpoint_is_set()
    {
        IntrospectionOptions.FromSettings(Settings()).Should().BeNull();
        IntrospectionOptions.FromSettings(Settings((Names.Settings.OpenAiEndpoint, " "))).Should().BeNull();
    }

    [Fact]
    public void Endpoint_and_deployment_give_entra_id_with_the_shared_defaults_and_a_key_when_present()
    {
        var o = IntrospectionOptions.FromSettings(Settings(
            (Names.Settings.OpenAiEndpoint, "https://oai-x.openai.azure.com/"), (Names.Settings.OpenAiDeployment, "introspection")))!;
        o.Endpoint.Host.Should().Be("oai-x.openai.azure.com");
        o.ApiKey.Should().BeNull();
        o.Timeout.Should().Be(TimeSpan.FromSeconds(Defaults.IntrospectionTimeoutSeconds));
        o.MaxRetries.Should().Be(Defaults.IntrospectionMaxRetries);
        o.TryTimeout.Should().Be(o.Timeout / (o.MaxRetries + 1));

        IntrospectionOptions.FromSettings(Settings((Names.Settings.OpenAiEndpoint, "https://a.example/"), (Names.Settings.OpenAiDeployment, "d"),
            (SecretSettings.OpenAiKey, "k"), (Names.Settings.IntrospectionTimeoutSeconds, "12.5"), (Names.Settings.IntrospectionMaxRetries, "0")))
            .Should().BeEquivalentTo(new { ApiKey = "k", Timeout = TimeSpan.FromSeconds(12.5), MaxRetries = 0 });
    }

    [Theory]
    [InlineData("not a url", "introspection", null, null, "Coral__OpenAiEndpoint")]
    [InlineData("ftp://x.example/", "introspection", null, null, "Coral__OpenAiEndpoint")]
    [InlineData("https://x.example/", null, null, null, "Coral__OpenAiDeployment")]
    [InlineData(null, "introspection", null, null, "Coral__OpenAiEndpoint")]
    [InlineData("https://x.example/", "d", "soon", null, "Coral__IntrospectionTimeoutSeconds")]
    [InlineData("https://x.example/", "d", "-1", null, "Coral__IntrospectionTimeoutSeconds")]
    [InlineData("https://x.example/", "d", null, "1.5", "Coral__IntrospectionMaxRetries")]
    [InlineData("https://x.example/", "d", null, "1000", "Coral__IntrospectionMaxRetries")]
    public void Unusable_settings_name_the_setting(string? endpoint, string? deployment, string? timeout, string? retries, string named)
    {
        var values = new Dictionary<string, string?>
        {
            [Names.Settings.OpenAiEndpoint] = endpoint, [Names.Settings.OpenAiDeployment] = deployment,
            [Names.Settings.IntrospectionTimeoutSeconds] = timeout, [Names.Settings.IntrospectionMaxRetries] = retries,
        };
        var act = () => IntrospectionOptions.FromSettings(k => values.GetValueOrDefault(k));
        act.Should().Throw<IntrospectionConfigurationException>().WithMessage($"*{named}*").Which.Should().BeAssignableTo<ICoralInputError>();
    }
}
