using System.CommandLine;

namespace Coral.Cli.Commands;

/// <summary>The top-level command groups, in the order `coral --help` lists them.</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return DataCommands.Create();
        yield return AzuriteCommand.Create();
        yield return ServeCommand.Create();
        yield return ReviewCommand.Create();
        yield return ReviewCommand.CreateQueue();
        yield return GenerateCommand.Create();
        yield return ScoreCommand.Create();
        yield return CommandGroups.Train;
        yield return CommandGroups.Eval;
        yield return CommandGroups.Bench;
        yield return CalibrateCommand.Create();
        yield return ExportCommand.Create();
    }
}
