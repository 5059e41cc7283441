using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>Turns expected failures (bad input, missing files) into one clear line and exit code 2.</summary>
public static class CliErrors
{
    public const int BadInput = 2;

    public static async Task<int> RunAsync(Func<Task<int>> run)
    {
        try { return await run(); }
        catch (Exception e) when (IsInputError(e))
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return BadInput;
        }
    }

    /// <summary>"The user's input is wrong", not "the program is broken": our typed errors, and the BCL's file and argument errors.</summary>
    private static bool IsInputError(Exception e) =>
        e is ICoralInputError or ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException;
}
