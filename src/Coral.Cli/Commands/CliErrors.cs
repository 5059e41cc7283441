namespace Coral.Cli.Commands;

/// <summary>Turns expected failures (bad input, missing files) into one clear line on stderr and exit code 2.</summary>
public static class CliErrors
{
    public const int BadInput = 2;

    public static async Task<int> RunAsync(Func<Task<int>> run)
    {
        try { return await run(); }
        catch (Exception e) when (IsInputError(e))
        {
            WriteError(e.Message);
            return BadInput;
        }
        catch (Exception e) when (IsStorageFailure(e))
        {
            // The storage named by --connection (or the environment) cannot be reached: say so, once, without the SDK's trace.
            WriteError("storage unreachable: " + e.Message);
            return BadInput;
        }
    }

    /// <summary>One line, never wrapped (scripts grep it), red only on a terminal.</summary>
    public static void WriteError(string message)
    {
        string line = message.ReplaceLineEndings(" ");
        Console.Error.WriteLine(Console.IsErrorRedirected ? $"error: {line}" : $"\u001b[31merror:\u001b[0m {line}");
    }

    /// <summary>System.CommandLine names .NET types ("System.Nullable`1[System.Int32]"); say what a user would.</summary>
    public static string Readable(string parseError) => System.Text.RegularExpressions.Regex.Replace(parseError,
        @"as expected type '(System\.Nullable`1\[)?System\.(?<t>\w+)\]?'", m => m.Groups["t"].Value switch
        {
            "Int32" or "Int64" => "as a whole number",
            "Double" or "Single" => "as a number",
            "Boolean" => "as true or false",
            var t => $"as {t}",
        });

    /// <summary>The SDK's request failures, or its retries giving up on them.</summary>
    private static bool IsStorageFailure(Exception e) =>
        e is Azure.RequestFailedException
        || e is AggregateException a && a.InnerExceptions.Count > 0 && a.InnerExceptions.All(i => i is Azure.RequestFailedException or HttpRequestException or TaskCanceledException);

    /// <summary>"The user's input is wrong", not "the program is broken": our typed errors, and the BCL's file and argument errors.</summary>
    private static bool IsInputError(Exception e) =>
        e is ICoralInputError or ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException;
}
