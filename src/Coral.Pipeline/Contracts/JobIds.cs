using System.Security.Cryptography;
using System.Text;

namespace Coral.Pipeline.Contracts;

/// <summary>
/// Every output name derives from its input: blob name + ETag → jobId. A re-delivered or duplicate event for
/// the same blob version maps to the same id, so outputs are found (and not duplicated) on retry; a new
/// upload under the same name (new ETag) is a new input.
/// </summary>
public static class JobIds
{
    /// <summary>"{readable-slug}-{16 hex of sha256(name, etag)}": safe as a blob path segment, whatever the input name.</summary>
    public static string Derive(string blobName, string etag)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        ArgumentException.ThrowIfNullOrEmpty(etag);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(blobName + "\n" + NormalizeEtag(etag)));
        return Slug(blobName) + "-" + Convert.ToHexStringLower(hash, 0, 8);
    }

    /// <summary>ETags arrive quoted or not depending on the source (SDK, Event Grid); the id must not care.</summary>
    public static string NormalizeEtag(string etag) => etag.Trim().Trim('"');

    public static bool IsValid(string jobId) =>
        jobId.Length is > 17 and <= 50 && jobId.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    private static string Slug(string blobName)
    {
        var last = blobName.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "blob";
        var stem = Path.GetFileNameWithoutExtension(last);
        var sb = new StringBuilder();
        foreach (char c in stem.ToLowerInvariant())
        {
            if (sb.Length == 24) break;
            if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9')) sb.Append(c);
            else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
        }
        var s = sb.ToString().Trim('-');
        return s.Length == 0 ? "blob" : s;
    }
}
