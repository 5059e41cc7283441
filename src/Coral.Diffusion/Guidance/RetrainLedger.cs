using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Coral.Diffusion.Guidance;

/// <summary>
/// The finished fine-tunes of `eval ltg` part (c), one JSON line per (seed, arm), appended as each one ends. A run
/// that stopped part-way (a native crash, a time limit) starts again where it stopped instead of losing an hour. A line
/// is reused only under the same fingerprint: every setting, model and data size the result depends on.
/// </summary>
public sealed class RetrainLedger
{
    public const string FileName = "retrain-arms.jsonl";

    /// <param name="Generation">What generation measured for an arm that generated its images (null otherwise).</param>
    public sealed record Entry(string Fingerprint, int Seed, string Arm, double Tail, double Overall, double[] PerClass, int Added, JsonNode? Generation);

    private readonly string _path;
    private readonly Dictionary<(int, string), Entry> _done = new();

    public RetrainLedger(string path, string fingerprint)
    {
        _path = path;
        Fingerprint = fingerprint;
        if (!File.Exists(path)) return;
        foreach (var line in File.ReadLines(path))
        {
            Entry? e;
            // A line torn by a crash mid-write is skipped: its fine-tune simply runs again.
            try { e = JsonSerializer.Deserialize<Entry>(line); }
            catch (JsonException) { continue; }
            if (e is not null && e.Fingerprint == fingerprint) _done[(e.Seed, e.Arm)] = e;
        }
    }

    public string Fingerprint { get; }

    /// <summary>How many (seed, arm) results the ledger held for this fingerprint when it was opened or since.</summary>
    public int Count => _done.Count;

    public bool TryGet(int seed, string arm, out Entry entry) => _done.TryGetValue((seed, arm), out entry!);

    public void Add(Entry entry)
    {
        if (entry.Fingerprint != Fingerprint) throw new ArgumentException("entry of another fingerprint", nameof(entry));
        _done[(entry.Seed, entry.Arm)] = entry;
        // One short append per fine-tune (minutes apart): a crash loses at most the line being written.
        File.AppendAllText(_path, JsonSerializer.Serialize(entry) + "\n");
    }

    /// <summary>A short stable hash of what a result depends on (serialised as JSON).</summary>
    public static string FingerprintOf(object dependsOn) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(dependsOn))))[..16];
}
