namespace Coral.Pipeline.Contracts;

/// <summary>
/// Every blob name the pipeline derives from a jobId, in one place (the containers are in coral-names.json).
/// Readers, writers, the audit and the review tools all ask here, so a path rule cannot drift between them.
/// </summary>
public static class BlobPaths
{
    /// <summary>scores/{jobId}.json: the one score record per input version, and its receipt.</summary>
    public static string ScoreRecord(string jobId) => jobId + ".json";

    /// <summary>The jobId of a scores/ blob name, or null for a name that is not a record.</summary>
    public static string? JobIdOfScoreRecord(string blobName) => blobName.EndsWith(".json", StringComparison.Ordinal) ? blobName[..^5] : null;

    /// <summary>manifests/{jobId}.json: the batch's commit point.</summary>
    public static string Manifest(string jobId) => jobId + ".json";

    /// <summary>manifests/{jobId}.html: the batch's self-contained review page.</summary>
    public static string ReviewPage(string jobId) => jobId + ".html";

    public static bool IsManifest(string blobName) => blobName.EndsWith(".json", StringComparison.Ordinal);

    /// <summary>synthetic/{jobId}/{index}.png.</summary>
    public static string SyntheticImage(string jobId, int index) => $"{jobId}/{index}.png";

    /// <summary>curated/{class}/{jobId}-{index}.png, where the next classifier training reads approved images.</summary>
    public static string CuratedImage(string className, string jobId, int index) => $"{ClassFolder(className)}/{jobId}-{index}.png";

    /// <summary>staging/locks/{jobId}: the blob whose lease makes one generator own a job.</summary>
    public static string JobLock(string jobId) => LocksPrefix + jobId;

    /// <summary>staging/ names under this prefix are locks, not leftovers of an interrupted write.</summary>
    public const string LocksPrefix = "locks/";

    /// <summary>staging/poison/{queue}/{messageId}.json: a poison envelope too large for the poison queue.</summary>
    public static string PoisonEnvelope(string queue, string messageId) => $"{PoisonEnvelopesPrefix}{queue}/{messageId}.json";

    /// <summary>staging/ names under this prefix are kept poison envelopes, not leftovers.</summary>
    public const string PoisonEnvelopesPrefix = "poison/";

    /// <summary>staging/{container}/{name}.{unique}.tmp: a write in progress (temp-then-commit).</summary>
    public static string Staged(string container, string blobName) => $"{container}/{blobName}.{Guid.NewGuid():N}.tmp";

    /// <summary>A class name as a curated/ folder name: lower-case ASCII letters and digits, anything else a dash ("T-shirt/top" → "t-shirt-top").</summary>
    public static string ClassFolder(string className)
    {
        var chars = className.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        var s = new string(chars).Trim('-');
        return s.Length == 0 ? "unknown" : s;
    }
}
