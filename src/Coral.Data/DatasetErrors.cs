namespace Coral.Data;

/// <summary>A dataset file or folder is missing, malformed or inconsistent. The message names it.</summary>
public class DatasetFormatException(string source, string problem, Exception? inner = null)
    : Exception($"{source}: {problem}", inner)
{
    public string Source_ { get; } = source;
    public string Problem { get; } = problem;
}
