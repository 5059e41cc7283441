using System.CommandLine;

namespace Coral.Cli.Commands;

/// <summary>Shared parent commands; each work area adds its subcommand here with one line.</summary>
public static class CommandGroups
{
    public static readonly Command Train = new("train", "Train models (classifier, diffusion).")
    {
        TrainDiffusionCommand.Create(),
        TrainClassifierCommand.Create(),
    };

    public static readonly Command Eval = new("eval", "Evaluate models and experiments.")
    {
        EvalDomainCommand.Create(),
        EvalGenerationCommand.Create(),
        EvalLtgCommand.Create(),
        EvalLtgCommand.CreateVerdict(),
        EvalRetrainCommand.Create(),
        EvalSignalsCommand.Create(),
    };

    public static readonly Command Bench = new("bench", "Speed benchmarks (targets are checked here, never in unit tests).")
    {
        BenchDiffusionCommand.Create(),
        BenchLtgCommand.Create(),
        BenchPipelineCommand.Create(),
        BenchOutageCommand.Create(),
        BenchScoreCommand.Create(),
    };
}
