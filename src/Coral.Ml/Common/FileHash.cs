using System.Security.Cryptography;

namespace Coral.Ml.Common;

/// <summary>Content hashes of model files: what model cards, score records and results pages name a model by.</summary>
public static class FileHash
{
    /// <summary>Lower-case hex sha256 of a file, streamed.</summary>
    public static string Sha256(string file)
    {
        using var fs = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    /// <summary>Lower-case hex sha256 over every file of a folder (ordinal name order, contents only).</summary>
    public static string Sha256OfFolder(string directory)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in Directory.GetFiles(directory).Order(StringComparer.Ordinal))
        {
            using var fs = File.OpenRead(f);
            var buffer = new byte[1 << 16];
            for (int n; (n = fs.Read(buffer)) > 0;) hash.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
