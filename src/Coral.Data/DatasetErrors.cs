using Coral.Imaging;

namespace Coral.Data;

/// <summary>A dataset file or folder is missing, malformed or inconsistent. The message names it.</summary>
public class DatasetFormatException(string sourceName, string problem, Exception? inner = null)
    : Exception($"{sourceName}: {problem}", inner), ICoralInputError
{
    /// <summary>The file or folder at fault.</summary>
    public string SourceName { get; } = sourceName;

    /// <summary>What is wrong, without the source name.</summary>
    public string Problem { get; } = problem;
}
