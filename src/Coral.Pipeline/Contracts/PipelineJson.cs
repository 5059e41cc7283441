using System.Text.Json.Serialization;
using System.Text.Json;

namespace Coral.Pipeline.Contracts;

/// <summary>One JSON shape for every record the pipeline writes (camelCase, enums as strings).</summary>
public static class PipelineJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static BinaryData Serialize<T>(T value) => BinaryData.FromObjectAsJson(value, Options);

    /// <summary>Parses a record; a malformed one is reported with the blob/message it came from.</summary>
    public static T Deserialize<T>(BinaryData data, string source)
    {
        try
        {
            return data.ToObjectFromJson<T>(Options) ?? throw new PipelineDataException(source, "empty JSON document");
        }
        catch (JsonException e)
        {
            throw new PipelineDataException(source, e.Message, e);
        }
    }
}

/// <summary>A stored record or message could not be read; names where it came from.</summary>
public sealed class PipelineDataException(string source, string problem, Exception? inner = null)
    : Exception($"{source}: {problem}", inner), ICoralInputError
{
    public string Origin { get; } = source;
}
