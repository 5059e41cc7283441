namespace Coral.Testing;

/// <summary>Finds live Azurite processes whose working folder is a given Azurite work folder.</summary>
public static class AzuriteProcesses
{
    public static IReadOnlyList<int> Matching(string marker)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var cwd = new DirectoryInfo(Path.Combine(dir, "cwd")).ResolveLinkTarget(returnFinalTarget: false)?.FullName;
                // Only node runs Azurite; the bash guard shares the folder but is not Azurite.
                if (cwd == marker.TrimEnd('/') && cmd.Contains("azurite", StringComparison.Ordinal)
                    && !cmd.StartsWith("/bin/bash", StringComparison.Ordinal))
                    found.Add(pid);
            }
            catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    /// <summary>Polls until no matching process is left or the deadline passes; returns what is left.</summary>
    public static async Task<IReadOnlyList<int>> WaitUntilGoneAsync(string marker, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        IReadOnlyList<int> left;
        while ((left = Matching(marker)).Count > 0 && DateTime.UtcNow < until) await Task.Delay(50);
        return left;
    }
}
