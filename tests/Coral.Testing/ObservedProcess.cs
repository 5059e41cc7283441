using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Coral.Testing;

/// <summary>
/// A child process whose stdout and stderr are collected line by line (and drained, so it never blocks on a full
/// pipe), with waits on log lines instead of fixed sleeps. Disposing kills whatever is still running.
/// </summary>
public sealed class ObservedProcess : IDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _log = new();
    private readonly List<(Regex Pattern, TaskCompletionSource<Match> Seen)> _waits = [];

    /// <param name="start">Redirects stdout and stderr; it must not be started yet.</param>
    public ObservedProcess(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        _p = new Process { StartInfo = start };
        _p.OutputDataReceived += (_, e) => OnLine(e.Data);
        _p.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _p.Start();
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            _log.AppendLine(line);
            foreach (var (pattern, seen) in _waits)
                if (pattern.Match(line) is { Success: true } m) seen.TrySetResult(m);
        }
    }

    /// <summary>The first line (past or future) matching <paramref name="pattern"/>; throws with the log on timeout or exit.</summary>
    public async Task<Match> WaitForLineAsync(Regex pattern, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_log)
        {
            foreach (var line in _log.ToString().Split('\n'))
                if (pattern.Match(line) is { Success: true } m) { seen.TrySetResult(m); break; }
            _waits.Add((pattern, seen));
        }
        var exited = _p.WaitForExitAsync();
        var done = await Task.WhenAny(seen.Task, exited, Task.Delay(timeout));
        if (done != seen.Task)
            throw new TimeoutException($"no line matching {pattern} ({(done == exited ? "the process exited" : "timed out")}); output:\n{Log}");
        return await seen.Task;
    }

    public string Log { get { lock (_log) return _log.ToString(); } }
    public int Pid => _p.Id;
    public bool HasExited => _p.HasExited;
    public int ExitCode => _p.ExitCode;
    public Process Process => _p;

    /// <summary>SIGKILL (what Process.Kill sends on Unix), then wait for it to be gone.</summary>
    public void KillHard() { _p.Kill(); _p.WaitForExit(); }

    /// <summary>Waits for exit; throws with the log if it takes longer than <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"the process did not exit within {timeout}; output:\n{Log}"); }
        return _p.ExitCode;
    }

    public void Dispose()
    {
        if (!_p.HasExited) _p.Kill(entireProcessTree: true);
        _p.Dispose();
    }
}
