using System.CommandLine;
using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Export;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>
/// `coral calibrate`: adds the out-of-domain mark to a trained bundle: the feature-distance model on the images its
/// members trained on and its threshold on real images none of them saw (both rebuilt from the model card), then
/// rewrites the bundle, its card and its ONNX graph. Bundles trained now get the mark at training time; this adds it
/// to older ones without retraining.
/// </summary>
public static class CalibrateCommand
{
    public static Command Create()
    {
        var model = ClassifierCliOptions.Model();
        var data = new DataCliOptions();
        var output = new Option<string?>("--out") { Description = "bundle folder to write (default: the --model folder, in place)" };
        var cmd = new Command("calibrate", "Add the out-of-domain mark (feature distance and its threshold) to a classifier bundle, from images its members trained on and images they never saw.") { model, output };
        data.AddTo(cmd);
        cmd.SetAction(parse => CliErrors.RunAsync(() => Task.FromResult(Run(parse))));
        return cmd;

        int Run(ParseResult parse)
        {
            string modelPath = parse.GetValue(model)!;
            string outPath = parse.GetValue(output) ?? Path.GetDirectoryName(Path.GetFullPath(ClassifierBundle.ResolveFile(modelPath)))!;
            OutputPaths.Folder(outPath, "--out");
            using var bundle = ClassifierBundle.Load(modelPath);
            var ds = DataSource.Load(data.Read(parse, bundle.Card.Seed));
            var (reference, description) = ClassifierRecipe.CalibrationReference(ds, bundle.Card);
            var fitted = ClassifierRecipe.FitOutOfDomain(bundle, ClassifierRecipe.Partition(ds.Train, bundle.Card).MembersTrain, reference, description);
            fitted.Save(outPath);
            BundleOnnxExporter.Save(fitted, ExportCommand.DefaultPath(outPath), ClassifierBundle.VersionOf(outPath));
            AnsiConsole.MarkupLine(Markup.Escape($"out of domain: feature distance > {fitted.Calibration!.OutOfDomainThreshold:F2} ({Coral.Scoring.Onnx.OutOfDomainMark.Quantile:P1} quantile of {description})"));
            AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape(ClassifierBundle.ResolveFile(outPath))}[/], its model card and {Markup.Escape(ExportCommand.DefaultPath(outPath))}");
            return 0;
        }
    }
}
