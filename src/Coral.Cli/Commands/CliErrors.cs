using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>Turns expected failures (bad input, missing files) into one clear line and exit code 2.</summary>
public static class CliErrors
{
    public const int BadInput = 2;

    /// <summary>Exception types that mean "the user's input is wrong", not "the program is broken".</summary>
    private static readonly HashSet<string> InputErrorTypes = new(StringComparer.Ordinal)
    {
        "Coral.Data.DatasetFormatException",
        "Coral.Ml.TorchUnavailableException",
        "Coral.Pipeline.LocalStorage.AzuriteException",
    };

    public static async Task<int> RunAsync(Func<Task<int>> run)
    {
        try { return await run(); }
        catch (Exception e) when (IsInputError(e))
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return BadInput;
        }
    }

    private static bool IsInputError(Exception e) =>
        e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
        || InputErrorTypes.Contains(e.GetType().FullName ?? "")
        || e.GetType().GetInterfaces().Any(i => i.Name == "ICoralInputError");
}
