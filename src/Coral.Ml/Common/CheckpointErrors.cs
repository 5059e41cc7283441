namespace Coral.Ml.Common;

/// <summary>Base of every checkpoint problem; <see cref="Path"/> names the file.</summary>
public abstract class CheckpointException(string path, string problem, Exception? inner = null)
    : Exception($"{path}: {problem}", inner), ICoralInputError
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}

/// <summary>The file is missing, truncated, fails its checksum or is not a Coral checkpoint at all.</summary>
public sealed class CheckpointCorruptException(string path, string problem, Exception? inner = null)
    : CheckpointException(path, problem, inner);

/// <summary>The file is intact but holds a different architecture (tensor names/shapes, kind or config).</summary>
public sealed class CheckpointMismatchException(string path, string problem)
    : CheckpointException(path, problem);
