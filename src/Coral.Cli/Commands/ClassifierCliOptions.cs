using System.CommandLine;
using Coral.Data;
using Coral.Ml.Classification;

namespace Coral.Cli.Commands;

/// <summary>Options shared by the classifier commands (score, eval signals, bench score, train classifier).</summary>
internal static class ClassifierCliOptions
{
    public static Option<string> Model() => new("--model")
    {
        Description = "classifier bundle folder or .ckpt", DefaultValueFactory = _ => ClassifierBundle.DefaultClassifierPath,
    };

    public static Option<string> Data(string description = "Fashion-MNIST folder (IDX files)") => new("--data")
    {
        Description = description, DefaultValueFactory = _ => FashionMnist.DefaultDirectory,
    };

    /// <summary>The command line as typed, for reports and model cards.</summary>
    public static string CommandLine() => "coral " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
}
