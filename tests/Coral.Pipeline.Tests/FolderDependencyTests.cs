using System.Text.RegularExpressions;
using Coral.Testing;

namespace Coral.Pipeline.Tests;

/// <summary>
/// Folders are namespaces; a folder may use another only one way. A cycle (Scoring ↔ Generation, Generation ↔ Hosting)
/// means a concern has no home. Checked over every src project from its using directives.
/// </summary>
public partial class FolderDependencyTests
{
    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex Namespace();

    [GeneratedRegex(@"^using (?:static )?(Coral[\w.]*?)(?:\.[A-Z]\w*Kit)?;", RegexOptions.Multiline)]
    private static partial Regex Using();

    /// <summary>Known cycle left to the ML rework: Coral.Ml Classification (ClassifierRecipe) ↔ Evaluation.</summary>
    private static readonly string[] NotYetChecked = ["Coral.Ml"];

    public static TheoryData<string> Projects() =>
        [.. Directory.GetDirectories(RepoPaths.Combine("src")).Select(d => Path.GetFileName(d)!)
            .Where(p => p.StartsWith("Coral.", StringComparison.Ordinal) && !NotYetChecked.Contains(p))];

    [Theory]
    [MemberData(nameof(Projects))]
    public void No_folder_depends_on_itself_through_another(string project)
    {
        var edges = new Dictionary<string, HashSet<string>>();
        foreach (var file in Directory.GetFiles(RepoPaths.Combine("src", project), "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            var text = File.ReadAllText(file);
            if (Namespace().Match(text) is not { Success: true } ns) continue;
            var from = ns.Groups[1].Value;
            foreach (Match u in Using().Matches(text))
            {
                var to = u.Groups[1].Value;
                // Within this project only, and not the project's root namespace (its composition root may use every folder).
                if (to == from || to == project || !to.StartsWith(project + ".", StringComparison.Ordinal)) continue;
                if (!edges.TryGetValue(from, out var set)) edges[from] = set = [];
                set.Add(to);
            }
        }
        var cycles = new List<string>();
        foreach (var start in edges.Keys)
        {
            var path = new Stack<string>();
            if (Reaches(start, start, edges, [], path)) cycles.Add(string.Join(" → ", path.Reverse().Prepend(start)));
        }
        cycles.Should().BeEmpty();
    }

    private static bool Reaches(string from, string target, Dictionary<string, HashSet<string>> edges, HashSet<string> seen, Stack<string> path)
    {
        foreach (var next in edges.GetValueOrDefault(from) ?? [])
        {
            path.Push(next);
            if (next == target) return true;
            if (seen.Add(next) && Reaches(next, target, edges, seen, path)) return true;
            path.Pop();
        }
        return false;
    }
}
