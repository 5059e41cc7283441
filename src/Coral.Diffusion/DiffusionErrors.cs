namespace Coral.Diffusion;

/// <summary>A diffusion input (class, scale, steps, checkpoint, option) is invalid. The message names it.</summary>
public sealed class DiffusionInputException(string input, string problem)
    : ArgumentException($"{input}: {problem}", input), ICoralInputError
{
    public string Input { get; } = input;
    public string Problem { get; } = problem;

    /// <summary>Without ArgumentException's " (Parameter 'x')" suffix: the input is already named first.</summary>
    public override string Message => $"{Input}: {Problem}";
}
