using System.ClientModel.Primitives;
using System.ClientModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Azure.AI.OpenAI;
using Azure.Identity;
using Coral.Pipeline.Introspection;
using Coral.Pipeline.Manifests;
using Microsoft.Extensions.Logging;
using OpenAI.Chat;

namespace Coral.Pipeline.Models.Introspection;

/// <summary>
/// Introspection through an Azure OpenAI vision chat deployment (key or Entra ID). One chat request carries the
/// source image and a contact sheet of the batch as data: URLs. Bounded: each try has a network timeout, retries
/// are counted and capped, and the whole call has a deadline. Any failure becomes a "failed" record.
/// </summary>
public sealed partial class AzureOpenAiIntrospector : ILongtailIntrospector
{
    public const int MaxDescriptionChars = 600;
    private const int MaxErrorChars = 300;
    private const int MaxOutputTokens = 150;

    internal const string SystemPrompt =
        "You help curate training data for an image classifier. You are shown a field image the classifier was " +
        "unsure about and a contact sheet of synthetic images generated to sit in the same long tail. " +
        "Answer with one or two plain sentences that name the visual concept they share which makes them unusual " +
        "for their class. No preamble, no lists.";

    private readonly IntrospectionOptions _options;
    private readonly ChatClient _chat;
    private readonly ILogger _logger;
    private readonly IntrospectionAuth _auth;
    // Requests sent by the current DescribeAsync call (the client is shared; each call counts its own tries).
    private readonly AsyncLocal<StrongBox<int>?> _attempts = new();

    public AzureOpenAiIntrospector(IntrospectionOptions options, ILogger<AzureOpenAiIntrospector> logger)
    {
        _options = options;
        _logger = logger;
        var clientOptions = new AzureOpenAIClientOptions
        {
            NetworkTimeout = options.TryTimeout,
            RetryPolicy = new ClientRetryPolicy(options.MaxRetries),
        };
        clientOptions.AddPolicy(new CountingPolicy(_attempts), PipelinePosition.PerTry);
        AzureOpenAIClient client;
        if (options.ApiKey is { } key)
        {
            _auth = IntrospectionAuth.ApiKey;
            client = new AzureOpenAIClient(options.Endpoint, new ApiKeyCredential(key), clientOptions);
        }
        else
        {
            _auth = IntrospectionAuth.EntraId;
            client = new AzureOpenAIClient(options.Endpoint, options.Credential ?? new DefaultAzureCredential(), clientOptions);
        }
        _chat = client.GetChatClient(options.Deployment);
    }

    public IntrospectionOptions Options => _options;

    public async Task<ManifestIntrospection?> DescribeAsync(IntrospectionRequest request, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var attempts = new StrongBox<int>();
        _attempts.Value = attempts;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.Timeout);
        string jobId = request.Job.JobId;
        try
        {
            var messages = Messages(request);
            var completion = (await _chat.CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = MaxOutputTokens }, deadline.Token)).Value;
            if (!TryText(completion, out string text))
                return Failed(attempts.Value, clock, "the response has no choices", jobId, completion.Model);
            if (text.Length == 0)
                return Failed(attempts.Value, clock, "the response has no text" + (completion.FinishReason is { } r ? $" (finish reason {r})" : ""), jobId, completion.Model);
            if (text.Length > MaxDescriptionChars) text = text[..MaxDescriptionChars].TrimEnd() + "…";
            _logger.LogInformation("Job {JobId}: introspection by {Deployment} in {Seconds:F1} s, {Attempts} request(s)", jobId, _options.Deployment,
                clock.Elapsed.TotalSeconds, attempts.Value);
            return Record(IntrospectionStatus.Described, attempts.Value, clock, completion.Model) with { Description = text };
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw; // the job itself is being stopped: not an introspection result
        }
        catch (Exception e) when (e is OperationCanceledException || (e is AggregateException a && a.InnerExceptions.All(IsTimeout)))
        {
            // The overall deadline, or every try hitting its own network timeout first (the SDK then wraps them).
            return Failed(attempts.Value, clock, $"no answer within {Seconds(_options.Timeout)} s (each try {Seconds(_options.TryTimeout)} s)", jobId);
        }
        catch (ClientResultException e)
        {
            string message = Short(e.Message);
            return Failed(attempts.Value, clock, message.Contains($"HTTP {e.Status}", StringComparison.Ordinal) ? message : $"HTTP {e.Status}: {message}", jobId);
        }
        catch (System.Text.Json.JsonException e)
        {
            return Failed(attempts.Value, clock, $"unreadable response: {Short(e.Message)}", jobId);
        }
        catch (AuthenticationFailedException e)
        {
            return Failed(attempts.Value, clock, $"Entra ID token: {Short(e.Message)}", jobId);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Optional feature: whatever else goes wrong (unreadable image, unreadable response, network) is recorded, not thrown.
            return Failed(attempts.Value, clock, $"{e.GetType().Name}: {Short(e.Message)}", jobId);
        }
    }

    private static bool IsTimeout(Exception e) => e is OperationCanceledException or TimeoutException;

    /// <summary>The answer's text parts, trimmed; false when the service sent no choice at all (Content then throws).</summary>
    private static bool TryText(ChatCompletion completion, out string text)
    {
        try
        {
            text = string.Concat(completion.Content.Where(p => p.Kind == ChatMessageContentPartKind.Text).Select(p => p.Text)).Trim();
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            text = "";
            return false;
        }
    }

    internal static List<ChatMessage> Messages(IntrospectionRequest request)
    {
        var job = request.Job;
        var score = job.Score;
        string question = string.Create(CultureInfo.InvariantCulture,
            $"Image 1 is the field image '{job.Source.Name}'. The classifier {job.ClassifierVersion} predicted '{score.PredictedLabel}' " +
            $"with {score.SignalName} = {score.Signal:0.####} (flag threshold {job.Threshold:0.####}). Image 2 is a contact sheet of " +
            $"{request.Images.Count} synthetic images generated from it with Longtail Guidance. What concept do they share?");
        return
        [
            new SystemChatMessage(SystemPrompt),
            new UserChatMessage(
                ChatMessageContentPart.CreateTextPart(question),
                ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(ContactSheet.SourcePng(request.SourceImage, job.Source.Name)), "image/png"),
                ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(ContactSheet.Png(request.Images.Select(i => i.Png).ToList(), $"synthetic/{job.JobId}")), "image/png")),
        ];
    }

    private ManifestIntrospection Record(IntrospectionStatus status, int attempts, Stopwatch clock, string? model) => new()
    {
        Status = status,
        Deployment = _options.Deployment,
        Model = string.IsNullOrWhiteSpace(model) ? null : model,
        EndpointHost = _options.Endpoint.Host,
        Auth = _auth,
        Attempts = attempts,
        Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
        At = DateTimeOffset.UtcNow,
    };

    private ManifestIntrospection Failed(int attempts, Stopwatch clock, string error, string jobId, string? model = null)
    {
        _logger.LogWarning("Job {JobId}: introspection by {Deployment} at {Host} failed after {Attempts} request(s); the batch goes on without it: {Error}",
            jobId, _options.Deployment, _options.Endpoint.Host, attempts, error);
        return Record(IntrospectionStatus.Failed, attempts, clock, model) with { Error = $"{error} ({attempts} request{(attempts == 1 ? "" : "s")})" };
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>First part of a message on one line: service errors carry the response body and headers, which do not belong in a manifest.</summary>
    private static string Short(string message)
    {
        int headers = message.IndexOf("Headers:", StringComparison.Ordinal);
        string s = Whitespace().Replace(headers >= 0 ? message[..headers] : message, " ").Trim();
        return s.Length <= MaxErrorChars ? s : s[..MaxErrorChars] + "…";
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    /// <summary>Counts every try the pipeline sends (it sits after the retry policy).</summary>
    private sealed class CountingPolicy(AsyncLocal<StrongBox<int>?> counter) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Count();
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Count();
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        private void Count()
        {
            if (counter.Value is { } box) Interlocked.Increment(ref box.Value);
        }
    }
}
