namespace Coral;

/// <summary>
/// Marks exceptions caused by the caller's input (a file, blob, setting or option), not by a bug. Each one's
/// message names the input. The CLI matches this type and prints one red line with exit code 2.
/// </summary>
public interface ICoralInputError;
