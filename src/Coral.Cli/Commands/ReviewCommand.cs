using System.CommandLine;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Review;
using Coral.Pipeline.Storage;
using Coral.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Coral.Cli.Commands;

/// <summary>`coral review list|show|approve|reject` and `coral queue replay-poison`.</summary>
public static class ReviewCommand
{
    /// <summary>
    /// --connection or $CoralStorage (a connection string), else the identity-based settings the apps use
    /// ($CoralStorage__blobServiceUri and __queueServiceUri, signed in with az login or a managed identity).
    /// </summary>
    internal static PipelineStorage Storage(ParseResult parse, Option<string?> connection, Option<string> prefix)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [Pipeline.Names.Settings.StorageConnection] = ServeCommand.Connection(parse, connection),
            [ServeCommand.NamePrefixSetting] = parse.GetValue(prefix),
        }.Where(s => s.Value is not null)).Build();
        // The same storage composition as every host (not disposed: the command's process ends with it).
        return new ServiceCollection().AddLogging().AddCoralPipeline(configuration).BuildServiceProvider().GetRequiredService<PipelineStorage>();
    }

    /// <summary>--name-prefix: the container and queue name prefix a `coral serve` ran with.</summary>
    internal static Option<string> PrefixOption() => new("--name-prefix") { Description = "container/queue name prefix used by coral serve", DefaultValueFactory = _ => "" };

    public static Command Create()
    {
        var connection = ServeCommand.ConnectionOption();
        var prefix = PrefixOption();
        var review = new Command("review", "Review generated batches: list, show, approve or reject images.");

        var list = new Command("list", "One line per batch with its review counts.") { connection, prefix };
        list.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var table = new Table().AddColumns("job", "source", "predicted", "signal", "images", "pending", "approved", "rejected", "inconsistent", "note");
            var all = await new ReviewService(Storage(parse, connection, prefix)).ListAsync(ct);
            if (Console.IsOutputRedirected)
            {
                // Scripts get whole ids, one batch per line, not a table wrapped to an unknown width.
                foreach (var m in all)
                    Console.WriteLine(string.Join('\t', m.JobId, m.SourceName, m.PredictedLabel, ReviewPage.Number(m.Signal), m.Images, m.Pending, m.Approved, m.Rejected, m.Inconsistent,
                        m.AllInconsistent ? "all-inconsistent" : "ok"));
                return 0;
            }
            foreach (var m in all)
                table.AddRow(Markup.Escape(m.JobId), Markup.Escape(m.SourceName), Markup.Escape(m.PredictedLabel), ReviewPage.Number(m.Signal),
                    m.Images.ToString(), m.Pending.ToString(), m.Approved.ToString(), m.Rejected.ToString(), m.Inconsistent.ToString(),
                    m.AllInconsistent ? "[red]all inconsistent[/]" : "");
            AnsiConsole.Write(table);
            return 0;
        }));
        review.Subcommands.Add(list);

        var jobArg = new Argument<string>("job") { Description = "job id (coral review list)" };
        var show = new Command("show", "Print a batch's manifest.") { jobArg, connection, prefix };
        show.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var (m, _) = await new ReviewService(Storage(parse, connection, prefix)).ReadAsync(parse.GetValue(jobArg)!, ct);
            Console.WriteLine(Pipeline.Contracts.PipelineJson.Serialize(m).ToString());
            return 0;
        }));
        review.Subcommands.Add(show);

        var toDir = new Option<string>("--to") { Description = "local folder (one sub-folder per class)", DefaultValueFactory = _ => "runs/curated" };
        var pull = new Command("pull-curated", "Copy the approved images in curated/ to a local folder, for `coral train classifier --add-images`.") { toDir, connection, prefix };
        pull.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            string dir = parse.GetValue(toDir)!;
            var counts = await new ReviewService(Storage(parse, connection, prefix)).PullCuratedAsync(dir, ct);
            Console.WriteLine(counts.Count == 0
                ? $"curated/ is empty: nothing approved yet ({dir} unchanged)"
                : $"{counts.Values.Sum()} approved images → {dir}: {string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}"))}");
            return 0;
        }));
        review.Subcommands.Add(pull);

        foreach (var (name, status) in new[] { ("approve", ReviewStatus.Approved), ("reject", ReviewStatus.Rejected) })
        {
            var job = new Argument<string>("job") { Description = "job id" };
            var imageOpt = new Option<int[]>("--image") { Description = "image index (repeatable; default: every image)", AllowMultipleArgumentsPerToken = true };
            var reviewer = new Option<string>("--reviewer") { Description = "who reviews", DefaultValueFactory = _ => Environment.UserName };
            var cls = new Option<string?>("--class") { Description = "the class every approved image shows (a flagged image's class is unknown: you confirm it)" };
            var set = new Option<string[]>("--set") { Description = "INDEX=CLASS for one image (repeatable; overrides --class)", AllowMultipleArgumentsPerToken = true };
            var confirm = new Option<bool>("--confirm-targets") { Description = "confirm each image's target class as the review page shows it" };
            var sourceClass = new Option<string?>("--source-class") { Description = "the class of the flagged source image" };
            var cmd = new Command(name, $"Mark images {status.ToString().ToLowerInvariant()}" +
                (status == ReviewStatus.Approved ? " and copy them to curated/<confirmed class>/ (needs --class, --set or --confirm-targets)." : " (removes any curated copy)."))
            { job, imageOpt, reviewer, cls, set, confirm, sourceClass, connection, prefix };
            cmd.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
            {
                var labels = new ClassLabels
                {
                    All = parse.GetValue(cls), PerImage = ParseSet(parse.GetValue(set) ?? []), ConfirmTargets = parse.GetValue(confirm),
                    Source = parse.GetValue(sourceClass),
                };
                var m = await new ReviewService(Storage(parse, connection, prefix)).SetStatusAsync(parse.GetValue(job)!,
                    parse.GetValue(imageOpt) ?? [], status, parse.GetValue(reviewer) ?? "unknown", ct, labels);
                AnsiConsole.MarkupLine($"[green]{Markup.Escape(m.JobId)}[/]: " +
                    string.Join(", ", m.Images.Select(i => $"{i.Index}={i.Status.ToString().ToLowerInvariant()}{(i.ConfirmedClass is { } c ? $" ({Markup.Escape(c)})" : "")}")));
                return 0;
            }));
            review.Subcommands.Add(cmd);
        }
        return review;
    }

    /// <summary>"3=Bag" pairs → image index → class; a malformed pair is an input error naming it.</summary>
    private static Dictionary<int, string> ParseSet(string[] pairs)
    {
        var result = new Dictionary<int, string>();
        foreach (var pair in pairs)
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0 || !int.TryParse(pair[..eq], out int index) || eq == pair.Length - 1)
                throw new ArgumentException($"--set: '{pair}' is not INDEX=CLASS (for example 3=Bag)");
            result[index] = pair[(eq + 1)..];
        }
        return result;
    }

    public static Command CreateQueue()
    {
        var connection = ServeCommand.ConnectionOption();
        var prefix = PrefixOption();
        var max = new Option<int>("--max") { Description = "replay at most this many", DefaultValueFactory = _ => 1000 };
        var queue = new Command("queue", "Inspect and repair the job queues.");
        var replay = new Command("replay-poison", "Move poisoned longtail jobs back onto longtail-jobs for another round of tries.") { connection, prefix, max };
        replay.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            using var loggers = LoggerFactory.Create(b => ServeCommand.UseConsoleLogs(b, json: false));
            int n = await PoisonReplay.ReplayAsync(Storage(parse, connection, prefix), parse.GetValue(max), loggers.CreateLogger("coral.queue"), ct);
            AnsiConsole.MarkupLine($"replayed [bold]{n}[/] poisoned job(s)");
            return 0;
        }));
        queue.Subcommands.Add(replay);
        return queue;
    }
}
