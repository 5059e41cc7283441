using System.CommandLine;
using Coral.Cli.Commands;

// `coral`: every command group lives in Commands/ and only parses arguments; the work is in the libraries.
var root = new RootCommand("CoralFunctions: mine the long tail of a deployed image classifier.");
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
var parse = root.Parse(args.Length == 0 ? ["--help"] : args);
// A bad argument (--count abc, an unknown option) is bad input like any other: one line, exit 2, not the whole help.
if (parse.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
{
    CliErrors.WriteError(string.Join("; ", parse.Errors.Select(e => CliErrors.Readable(e.Message))) + " (see --help)");
    return CliErrors.BadInput;
}
return await CliErrors.RunAsync(() => parse.InvokeAsync());
