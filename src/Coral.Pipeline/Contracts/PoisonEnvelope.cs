using System.Text.Json.Serialization;

namespace Coral.Pipeline.Contracts;

/// <summary>
/// What lands in the poison queue: the original message untouched, plus why it was given up on. An envelope too large
/// for a queue message is stored whole as a blob; the queue then holds a copy without the message that names the blob.
/// </summary>
public sealed record PoisonEnvelope(
    [property: JsonPropertyName("originalMessage")] string OriginalMessage,
    string MessageId, long DequeueCount, string Reason, string Queue, DateTimeOffset PoisonedAt,
    [property: JsonPropertyName("envelopeBlob")] string? EnvelopeBlob = null);
