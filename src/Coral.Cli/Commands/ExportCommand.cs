using System.CommandLine;
using Coral.Ml.Classification;
using Coral.Ml.Export;
using Coral.Scoring.Onnx;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral export onnx`: the classifier bundle's scoring graph as scorer.onnx beside its checkpoint.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = ClassifierCliOptions.Model();
        var output = new Option<string?>("--out") { Description = $"ONNX file (default: {OnnxNames.FileName} in the bundle folder)" };
        var onnx = new Command("onnx", "Export the classifier bundle (members, head, signals, calibration) to ONNX for scoring without libtorch.") { model, output };
        onnx.SetAction(parse => CliErrors.RunAsync(() => Task.FromResult(Run(parse.GetValue(model)!, parse.GetValue(output)))));
        return new Command("export", "Export models for other runtimes.") { onnx };
    }

    private static int Run(string modelPath, string? output)
    {
        using var bundle = ClassifierBundle.Load(modelPath);
        string path = output ?? DefaultPath(modelPath);
        BundleOnnxExporter.Save(bundle, path, ClassifierBundle.VersionOf(modelPath));
        AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape(path)}[/] ({new FileInfo(path).Length / 1024} KiB): {bundle.NumMembers} members, " +
            $"{(bundle.Head is null ? "no head" : "epistemic head")}, input {bundle.Config.Channels}x{bundle.Config.Height}x{bundle.Config.Width}");
        return 0;
    }

    /// <summary>scorer.onnx in the bundle's folder.</summary>
    public static string DefaultPath(string modelPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(ClassifierBundle.ResolveFile(modelPath)))!, OnnxNames.FileName);
}
