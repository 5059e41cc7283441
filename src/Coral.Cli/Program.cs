using System.CommandLine;
using Coral.Cli.Commands;

// `coral`: every command group lives in Commands/ and only parses arguments; the work is in the libraries.
var root = new RootCommand("CoralFunctions: mine the long tail of a deployed image classifier.");
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
return await CliErrors.RunAsync(() => root.Parse(args).InvokeAsync());
