using Spectre.Console;

namespace Coral.Ml.Common;

/// <summary>What a training loop reports after each step.</summary>
public readonly record struct TrainingStep(string Task, int Epoch, int Epochs, long Done, long Total, double Loss, double ExamplesPerSecond);

/// <summary>Receives training progress; the CLI shows it as a Spectre.Console progress bar, tests ignore it.</summary>
public interface ITrainingProgress
{
    void Report(TrainingStep step);
    void Message(string text) { }
}

public sealed class NullProgress : ITrainingProgress
{
    public static readonly NullProgress Instance = new();
    public void Report(TrainingStep step) { }
}

/// <summary>
/// A Spectre.Console progress bar per task (e.g. "member 2"), showing epoch, loss and examples/s.
/// Use <see cref="Run"/> to wrap the training call.
/// </summary>
public sealed class SpectreProgress : ITrainingProgress
{
    private readonly ProgressContext context;
    private readonly Dictionary<string, ProgressTask> tasks = new();

    private SpectreProgress(ProgressContext context) => this.context = context;

    public static T Run<T>(Func<ITrainingProgress, T> work)
    {
        // Not a terminal (CI, nohup): Spectre renders nothing, so print one line per epoch instead.
        if (!AnsiConsole.Profile.Capabilities.Interactive) return work(new LineProgress());
        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx => work(new SpectreProgress(ctx)));
    }

    public void Report(TrainingStep s)
    {
        if (!tasks.TryGetValue(s.Task, out var task))
            tasks[s.Task] = task = context.AddTask(Markup.Escape(s.Task), maxValue: Math.Max(1, s.Total));
        task.MaxValue = Math.Max(1, s.Total);
        task.Value = s.Done;
        task.Description = Markup.Escape($"{s.Task} epoch {s.Epoch}/{s.Epochs} loss {s.Loss:F4} {s.ExamplesPerSecond:F0} ex/s");
    }

    public void Message(string text) => AnsiConsole.MarkupLine(Markup.Escape(text));

    private sealed class LineProgress : ITrainingProgress
    {
        private readonly Dictionary<string, int> lastEpoch = new();

        public void Report(TrainingStep s)
        {
            // One line per finished epoch keeps logs readable.
            long perEpoch = s.Total / Math.Max(1, s.Epochs);
            if (s.Done < (long)s.Epoch * perEpoch || (lastEpoch.TryGetValue(s.Task, out var e) && e == s.Epoch)) return;
            lastEpoch[s.Task] = s.Epoch;
            Console.WriteLine($"{s.Task} epoch {s.Epoch}/{s.Epochs} loss {s.Loss:F4} {s.ExamplesPerSecond:F0} ex/s");
        }

        public void Message(string text) => Console.WriteLine(text);
    }
}
