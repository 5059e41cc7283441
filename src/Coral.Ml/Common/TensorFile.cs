using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Common;

/// <summary>
/// Checkpoint IO: named float32 tensors plus a JSON header, in one file that is written atomically and
/// verified by SHA-256 on load. Everything is parsed in managed code, so a corrupt file becomes a
/// <see cref="CheckpointCorruptException"/>, never a native crash.
/// Layout: "CORALTF1" | int32 header length | UTF-8 JSON header | float32 data | SHA-256 of all before.
/// </summary>
public static class TensorFile
{
    private static readonly byte[] Magic = "CORALTF1"u8.ToArray();
    private const int HashBytes = 32;
    // Bigger than any model here by far; stops a bad header from asking for gigabytes.
    private const long MaxFloats = 1L << 28;

    /// <summary>A loaded checkpoint: its JSON metadata and tensors as flat arrays with shapes.</summary>
    public sealed record Contents(string Path, JsonObject Meta, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> Tensors);

    public static void Save(string path, JsonObject meta, IEnumerable<(string Name, Tensor Tensor)> tensors)
    {
        var entries = new List<(string Name, long[] Shape, float[] Data)>();
        foreach (var (name, t) in tensors)
        {
            using var cpu = t.detach().to(ScalarType.Float32).cpu().contiguous();
            entries.Add((name, cpu.shape, cpu.data<float>().ToArray()));
        }
        var table = new JsonArray();
        long offset = 0;
        foreach (var e in entries)
        {
            table.Add(new JsonObject { ["name"] = e.Name, ["shape"] = new JsonArray(e.Shape.Select(s => (JsonNode)s).ToArray()), ["offset"] = offset });
            offset += e.Data.Length;
        }
        var header = new JsonObject { ["meta"] = meta.DeepClone(), ["tensors"] = table };
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());

        AtomicFile.Write(path, stream =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Put(ReadOnlySpan<byte> bytes) { stream.Write(bytes); sha.AppendData(bytes); }
            Put(Magic);
            Span<byte> len = stackalloc byte[4];
            BitConverter.TryWriteBytes(len, headerBytes.Length);
            Put(len);
            Put(headerBytes);
            foreach (var e in entries) Put(System.Runtime.InteropServices.MemoryMarshal.AsBytes(e.Data.AsSpan()));
            stream.Write(sha.GetHashAndReset());
        });
    }

    public static Contents Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointCorruptException(path, "checkpoint file not found");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException e) { throw new CheckpointCorruptException(path, "cannot read the checkpoint: " + e.Message, e); }
        if (bytes.Length < Magic.Length + 4 + HashBytes || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new CheckpointCorruptException(path, "not a Coral checkpoint (bad magic or too short)");
        var body = bytes.AsSpan(0, bytes.Length - HashBytes);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashBytes)))
            throw new CheckpointCorruptException(path, "checksum mismatch: the file is truncated or damaged");
        int headerLen = BitConverter.ToInt32(bytes, Magic.Length);
        int dataStart = Magic.Length + 4 + headerLen;
        if (headerLen <= 0 || dataStart > body.Length)
            throw new CheckpointCorruptException(path, $"header length {headerLen} does not fit in the file");
        JsonObject header;
        try { header = JsonNode.Parse(bytes.AsSpan(Magic.Length + 4, headerLen))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        { throw new CheckpointCorruptException(path, "header is not valid JSON", e); }

        long totalFloats = (body.Length - dataStart) / 4;
        if ((body.Length - dataStart) % 4 != 0) throw new CheckpointCorruptException(path, "tensor data is not a whole number of float32 values");
        var tensors = new Dictionary<string, (long[], float[])>(StringComparer.Ordinal);
        try
        {
            foreach (var node in header["tensors"]!.AsArray())
            {
                string name = node!["name"]!.GetValue<string>();
                long[] shape = node["shape"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray();
                long offset = node["offset"]!.GetValue<long>();
                long count = shape.Aggregate(1L, (a, b) => a * b);
                if (shape.Any(s => s < 0) || count > MaxFloats || offset < 0 || offset + count > totalFloats)
                    throw new CheckpointCorruptException(path, $"tensor '{name}' [{string.Join(",", shape)}] lies outside the data section");
                var data = new float[count];
                Buffer.BlockCopy(bytes, checked(dataStart + (int)(offset * 4)), data, 0, checked((int)count * 4));
                if (!tensors.TryAdd(name, (shape, data))) throw new CheckpointCorruptException(path, $"tensor '{name}' appears twice");
            }
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or OverflowException or JsonException)
        { throw new CheckpointCorruptException(path, "tensor table is malformed", e); }
        var meta = header["meta"] as JsonObject ?? throw new CheckpointCorruptException(path, "header has no 'meta' object");
        return new Contents(path, (JsonObject)meta.DeepClone(), tensors);
    }

    /// <summary>
    /// Copies tensors whose names start with <paramref name="prefix"/> into <paramref name="module"/>'s
    /// parameters and buffers; any missing, extra or mis-shaped tensor is a <see cref="CheckpointMismatchException"/>.
    /// </summary>
    public static void LoadInto(Contents file, nn.Module module, string prefix)
    {
        var expected = Named(module, prefix).ToDictionary(p => p.Name, p => p.Tensor, StringComparer.Ordinal);
        var present = file.Tensors.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        var missing = expected.Keys.Where(k => !present.Contains(k)).ToList();
        var extra = present.Where(k => !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new CheckpointMismatchException(file.Path,
                $"architecture mismatch under '{prefix}': missing [{string.Join(", ", missing.Take(5))}], unexpected [{string.Join(", ", extra.Take(5))}]");
        using var _ = torch.no_grad();
        foreach (var (name, target) in expected)
        {
            var (shape, data) = file.Tensors[name];
            if (!shape.SequenceEqual(target.shape))
                throw new CheckpointMismatchException(file.Path,
                    $"tensor '{name}' has shape [{string.Join(",", shape)}] but the model expects [{string.Join(",", target.shape)}]");
            using var src = torch.tensor(data, shape);
            target.copy_(src);
        }
    }

    /// <summary>A module's parameters and buffers under a name prefix, in a stable order.</summary>
    public static IEnumerable<(string Name, Tensor Tensor)> Named(nn.Module module, string prefix)
    {
        foreach (var (name, p) in module.named_parameters()) yield return (prefix + name, p);
        foreach (var (name, b) in module.named_buffers()) yield return (prefix + name, b);
    }

    public static T Get<T>(this JsonObject meta, string key, string path)
    {
        try
        {
            var node = meta[key] ?? throw new CheckpointMismatchException(path, $"header lacks '{key}'");
            return node.Deserialize<T>(Json.Options) ?? throw new CheckpointMismatchException(path, $"header '{key}' is null");
        }
        catch (JsonException e) { throw new CheckpointMismatchException(path, $"header '{key}' has the wrong form: {e.Message}"); }
    }
}

/// <summary>Shared JSON settings for checkpoints, model cards and reports.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>One line per record (JSON Lines).</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    public static JsonObject ToObject<T>(T value) => JsonSerializer.SerializeToNode(value, Options)!.AsObject();
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
