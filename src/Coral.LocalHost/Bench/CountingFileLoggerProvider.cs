using Microsoft.Extensions.Logging;

namespace Coral.LocalHost.Bench;

/// <summary>The host's log lines go to a file (they would tear the progress display); warnings and errors are counted.</summary>
public sealed class CountingFileLoggerProvider(string path) : ILoggerProvider
{
    private readonly StreamWriter _writer = new(path, append: false) { AutoFlush = false };
    private readonly Lock _gate = new();
    private int _warnings, _errors;

    public int Warnings => _warnings;
    public int Errors => _errors;

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose()
    {
        lock (_gate) _writer.Dispose();
    }

    private void Write(LogLevel level, string category, string message, Exception? e)
    {
        if (level == LogLevel.Warning) Interlocked.Increment(ref _warnings);
        if (level >= LogLevel.Error) Interlocked.Increment(ref _errors);
        lock (_gate) _writer.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {level,-11} {category}: {message}{(e is null ? "" : " | " + e.GetType().Name + ": " + e.Message)}");
    }

    private sealed class FileLogger(CountingFileLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Write(logLevel, category, formatter(state, exception), exception);
        }
    }
}
