using System.CommandLine;
using System.Text.Json;
using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Scoring;
using Coral.Ml.Signals;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral score &lt;files or folders&gt;`: prediction, every longtail signal and the flag, as a table and JSON Lines.</summary>
public static class ScoreCommand
{
    /// <summary>Above this many images the screen shows a summary per class instead of a row per image.</summary>
    public const int PerImageRowsMax = 40;


    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "image files or folders (folders: their image files, recursively)", Arity = ArgumentArity.OneOrMore };
        var model = ClassifierCliOptions.Model();
        var output = new Option<string>("--out") { Description = "JSON Lines output, one record per image", DefaultValueFactory = _ => "scores.jsonl" };
        var batch = new Option<int>("--batch") { Description = "images per forward pass", DefaultValueFactory = _ => 256 };
        var wrongSize = new Option<WrongSizePolicy>("--wrong-size") { Description = "images whose size differs from the classifier input: refuse or resize (with a note)", DefaultValueFactory = _ => WrongSizePolicy.Refuse };
        var flagSignal = new Option<string?>("--flag-signal") { Description = "signal deciding the flag (default: the calibrated one)" };
        var noEnsemble = new Option<bool>("--no-ensemble") { Description = "one forward pass: skip the ensemble mutual information" };
        var table = new Option<bool?>("--table") { Description = $"one row per image on screen (default: only up to {PerImageRowsMax} images; the JSON Lines file always has every image)" };
        var cmd = new Command("score", "Score images with the classifier: prediction, longtail signals and the calibrated flag.")
        {
            paths, model, output, batch, wrongSize, flagSignal, noEnsemble, table,
        };
        cmd.SetAction(parse => CliErrors.RunAsync(() => Task.FromResult(Run(parse))));
        return cmd;

        int Run(ParseResult parse)
        {
            OutputPaths.File(parse.GetValue(output)!, "--out");
            using var bundle = ClassifierBundle.Load(parse.GetValue(model)!);
            var options = new ScorerOptions
            {
                BatchSize = parse.GetValue(batch), WrongSize = parse.GetValue(wrongSize), IncludeEnsemble = !parse.GetValue(noEnsemble),
                FlagSignal = parse.GetValue(flagSignal) is { } fs ? LongtailSignals.Parse(fs) : null,
            };
            var scorer = new ImageScorer(bundle, options);
            var files = Expand(parse.GetValue(paths)!);
            var (c, h, w) = bundle.InputShape;
            var decodeOptions = new ImageDecodeOptions { Channels = c };
            var images = new List<ImageTensor>();
            var names = new List<string>();
            int failed = 0;
            foreach (var file in files)
            {
                try
                {
                    // A stream: the codec reads at most its byte limit, so /dev/zero or a huge file fails fast, not out of memory.
                    using var stream = File.OpenRead(file);
                    var image = ImageCodec.Decode(stream, decodeOptions, file);
                    // Refuse per file, so one odd image does not stop the rest.
                    if (options.WrongSize == WrongSizePolicy.Refuse && (image.Height != h || image.Width != w))
                        throw new ImageShapeMismatchException(file, $"image is {image.Width}x{image.Height} but the classifier takes {w}x{h}; pass --wrong-size resize to convert");
                    images.Add(image);
                    names.Add(file);
                }
                catch (Exception e) when (e is ImageDecodeException or ImageShapeMismatchException or IOException or UnauthorizedAccessException)
                {
                    failed++;
                    AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                }
            }
            var results = scorer.Score(images, names);
            string outPath = parse.GetValue(output)!;
            AtomicFile.WriteAllText(outPath, string.Concat(results.Select(r => JsonSerializer.Serialize(r, Json.Compact) + "\n")));

            if (parse.GetValue(table) ?? results.Count <= PerImageRowsMax) PerImage(results, scorer);
            else Summary(results, bundle.ClassNames);
            var flagInfo = results.FirstOrDefault() is { FlagSignal: { } sig, Threshold: { } thr } ? $" (flag: {sig} > {thr:G4})" : "";
            AnsiConsole.MarkupLine(Markup.Escape($"{results.Count} scored, {results.Count(r => r.Flagged)} flagged{flagInfo}, {results.Count(r => r.OutOfDomain is not null)} out of domain, {failed} failed; wrote {outPath}"));
            foreach (var g in results.Where(r => r.Note is not null).GroupBy(r => r.Note!).OrderByDescending(g => g.Count()).Take(10))
                AnsiConsole.MarkupLine($"[grey]{g.Count()} image(s): {Markup.Escape(g.Key)}{(g.Count() == 1 ? $" ({Markup.Escape(g.First().Source)})" : "")}[/]");
            return failed > 0 ? CliErrors.BadInput : 0;
        }
    }

    private static void PerImage(IReadOnlyList<ScoreResult> results, ImageScorer scorer)
    {
        var table = new Table().AddColumns("image", "predicted", "p");
        foreach (var k in scorer.Signals) table.AddColumn(LongtailSignals.NameOf(k));
        table.AddColumn("flagged");
        foreach (var r in results)
        {
            var row = new List<string> { Markup.Escape(Path.GetRelativePath(Environment.CurrentDirectory, r.Source)), Markup.Escape(r.PredictedName), $"{r.Probabilities[r.PredictedClass]:F3}" };
            row.AddRange(scorer.Signals.Select(k => r.Signals[LongtailSignals.NameOf(k)].ToString("G4")));
            row.Add(r.Flagged ? "[yellow]yes[/]" : "no");
            table.AddRow(row.ToArray());
        }
        AnsiConsole.Write(table);
    }

    /// <summary>Per predicted class: images and flags (what a reader of 10,000 rows would want to know).</summary>
    private static void Summary(IReadOnlyList<ScoreResult> results, IReadOnlyList<string> classNames)
    {
        var table = new Table().AddColumns("predicted class", "images", "flagged", "flag rate");
        for (int k = 0; k < classNames.Count; k++)
        {
            int n = results.Count(r => r.PredictedClass == k), f = results.Count(r => r.PredictedClass == k && r.Flagged);
            table.AddRow(Markup.Escape(classNames[k]), n.ToString(), f.ToString(), n == 0 ? "" : $"{(double)f / n:P1}");
        }
        AnsiConsole.Write(table);
    }

    private static List<string> Expand(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
                files.AddRange(Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Where(f => ImageCodec.FileExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal));
            else if (File.Exists(p)) files.Add(p);
            else throw new FileNotFoundException($"{p}: no such file or folder", p);
        }
        return files;
    }
}
