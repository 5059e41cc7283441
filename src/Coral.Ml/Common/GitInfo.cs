using System.Diagnostics;

namespace Coral.Ml.Common;

/// <summary>The current git commit, for model cards; "unknown" outside a repository.</summary>
public static class GitInfo
{
    public static string Commit(string? workingDirectory = null)
    {
        try
        {
            var psi = new ProcessStartInfo("git", "rev-parse HEAD")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit(5000);
            bool dirty = false;
            if (p.ExitCode == 0)
            {
                psi.Arguments = "status --porcelain --untracked-files=no";
                using var s = Process.Start(psi)!;
                dirty = s.StandardOutput.ReadToEnd().Trim().Length > 0;
                s.WaitForExit(5000);
            }
            return p.ExitCode == 0 && output.Length > 0 ? output + (dirty ? "-dirty" : "") : "unknown";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "unknown";
        }
    }
}
