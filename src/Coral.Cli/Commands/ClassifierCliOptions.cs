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

    /// <summary>τ of the logit-adjusted loss CE(z + τ·log π, y) (<see cref="ClassificationMath.LogitAdjustment"/>); 0 = plain cross-entropy.</summary>
    public static Option<double> LogitAdjust(string whose) => new("--logit-adjust")
    {
        Description = $"τ of the logit-adjusted loss CE(z + τ·log π, y) for {whose} (0 = plain cross-entropy; 1 is the usual long-tail correction)",
        DefaultValueFactory = _ => 0,
        Validators = { r => { if (r.GetValueOrDefault<double>() is var t && !(t >= 0 && double.IsFinite(t))) r.AddError($"--logit-adjust: must be a finite number ≥ 0, got {t}"); } },
    };

    /// <summary>The command line as typed, for reports and model cards.</summary>
    public static string CommandLine() => "coral " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
}
