using System.Diagnostics;

namespace Coral.Cli.Tests;

/// <summary>Runs the built `coral` (copied next to the tests) as a real child process.</summary>
public static class CliProcess
{
    public static string CoralDll => Path.Combine(AppContext.BaseDirectory, "coral.dll");

    public static Process Start(params string[] args) =>
        Process.Start(StartInfo(args)) ?? throw new InvalidOperationException("could not start coral");

    /// <summary>`dotnet coral.dll args…` with every stream redirected.</summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(CoralDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Runs to completion; returns exit code and both streams.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var p = Start(args);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw new TimeoutException($"coral {string.Join(' ', args)} ran over {timeout}"); }
        return (p.ExitCode, await stdout, await stderr);
    }
}
