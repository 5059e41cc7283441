using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;

namespace Coral.Pipeline.Models.Tests.Introspection;

/// <summary>One request as the server saw it.</summary>
public sealed record ChatRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, JsonNode? Body);

/// <summary>
/// A real HTTP server on a free loopback port that speaks the Azure OpenAI chat-completions protocol
/// (POST /openai/deployments/{deployment}/chat/completions?api-version=...). <see cref="Behave"/> decides each
/// answer: a chat.completion with the given text, an error status, garbage, or a hang until the client gives up.
/// </summary>
public sealed class ChatCompletionsServer : IAsyncDisposable
{
    public enum Mode { Answer, Status500, Hang, Garbage, EmptyChoices }

    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ConcurrentQueue<ChatRequest> _requests = new();

    public ChatCompletionsServer(Mode mode = Mode.Answer, string answer = "Bags with unusually long straps.")
    {
        Behave = _ => mode;
        Answer = answer;
        // HttpListener needs the port up front: take a free one from the OS, then bind; retry on the rare race.
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try { _listener.Start(); Endpoint = new Uri($"http://127.0.0.1:{port}/"); break; }
            catch (HttpListenerException) when (attempt < 5) { }
        }
        _loop = Task.Run(LoopAsync);
    }

    public Uri Endpoint { get; } = null!;

    /// <summary>Mode for the n-th request (0-based).</summary>
    public Func<int, Mode> Behave { get; set; }

    public string Answer { get; set; }

    public string ModelName { get; set; } = "gpt-4o-mini-2024-07-18";

    public IReadOnlyList<ChatRequest> Requests => _requests.ToArray();

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (HttpListenerException) { return; }
            catch (ObjectDisposedException) { return; }
            _ = Task.Run(() => ServeAsync(ctx));
        }
    }

    private async Task ServeAsync(HttpListenerContext ctx)
    {
        int n;
        var headers = ctx.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => ctx.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
        string body;
        using (var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8)) body = await reader.ReadToEndAsync();
        JsonNode? json = null;
        try { json = JsonNode.Parse(body); } catch (JsonException) { }
        lock (_requests)
        {
            n = _requests.Count;
            _requests.Enqueue(new ChatRequest(ctx.Request.HttpMethod, ctx.Request.Url!.PathAndQuery, headers, json));
        }
        var res = ctx.Response;
        try
        {
            bool validPath = ctx.Request.HttpMethod == "POST"
                && ctx.Request.Url.AbsolutePath.StartsWith("/openai/deployments/", StringComparison.Ordinal)
                && ctx.Request.Url.AbsolutePath.EndsWith("/chat/completions", StringComparison.Ordinal)
                && ctx.Request.QueryString["api-version"] is { Length: > 0 };
            if (!validPath)
            {
                await WriteAsync(res, 404, "{\"error\":{\"code\":\"404\",\"message\":\"Resource not found\"}}");
                return;
            }
            switch (Behave(n))
            {
                case Mode.Status500:
                    await WriteAsync(res, 500, "{\"error\":{\"code\":\"InternalServerError\",\"message\":\"The server had an error while processing your request.\"}}");
                    break;
                case Mode.Hang:
                    try { await Task.Delay(Timeout.Infinite, _stop.Token); } catch (OperationCanceledException) { }
                    res.Abort();
                    break;
                case Mode.Garbage:
                    await WriteAsync(res, 200, "<html>this is not a chat completion");
                    break;
                case Mode.EmptyChoices:
                    await WriteAsync(res, 200, Completion(null));
                    break;
                default:
                    await WriteAsync(res, 200, Completion(Answer));
                    break;
            }
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException) { /* client went away */ }
    }

    private string Completion(string? text) => new JsonObject
    {
        ["id"] = "chatcmpl-test",
        ["object"] = "chat.completion",
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["model"] = ModelName,
        ["choices"] = text is null ? new JsonArray() : new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["finish_reason"] = "stop",
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text },
        }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 100, ["completion_tokens"] = 12, ["total_tokens"] = 112 },
    }.ToJsonString();

    private static async Task WriteAsync(HttpListenerResponse res, int status, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        res.StatusCode = status;
        res.ContentType = "application/json";
        res.ContentLength64 = bytes.Length;
        await res.OutputStream.WriteAsync(bytes);
        res.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _loop; } catch (Exception) { }
        _listener.Close();
        _stop.Dispose();
    }
}
