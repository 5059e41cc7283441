namespace Coral.Diffusion;

/// <summary>A diffusion input (class, scale, steps, checkpoint, option) is invalid. The message names it.</summary>
public sealed class DiffusionInputException(string input, string problem)
    : ArgumentException($"{input}: {problem}", input)
{
    public string Input { get; } = input;
}
