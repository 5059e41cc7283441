namespace Coral.Ml.Common;

/// <summary>The machine's load, which every results file records beside its numbers (the cores are shared).</summary>
public static class MachineLoad
{
    /// <summary>/proc/loadavg as it reads (1, 5 and 15 min averages, runnable/total tasks, last pid); null where there is none.</summary>
    public static string? Line()
    {
        try { return File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : null; }
        catch (IOException) { return null; }
    }

    /// <summary>Only the three load averages, e.g. "2.15 4.93 4.88"; "n/a" where there are none.</summary>
    public static string Averages() => Line() is { } l ? string.Join(' ', l.Split(' ').Take(3)) : "n/a";
}
