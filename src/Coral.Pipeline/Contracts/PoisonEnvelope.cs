using System.Text.Json.Serialization;

namespace Coral.Pipeline.Contracts;

/// <summary>What lands in the poison queue: the original message untouched, plus why it was given up on.</summary>
public sealed record PoisonEnvelope(
    [property: JsonPropertyName("originalMessage")] string OriginalMessage,
    string MessageId, long DequeueCount, string Reason, string Queue, DateTimeOffset PoisonedAt);
