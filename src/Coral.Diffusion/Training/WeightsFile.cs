using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Training;

/// <summary>
/// A small, explicit weights format: named tensors stored as float32 or float16 (half the size for shipping).
/// Loading matches by name and shape, so a wrong or truncated file fails loudly instead of loading garbage.
/// </summary>
public static class WeightsFile
{
    private const string Magic = "CORALW1";

    public static void Save(nn.Module module, string path, bool half)
    {
        var tmp = path + ".tmp";
        using (var fs = File.Create(tmp))
        using (var w = new BinaryWriter(fs, Encoding.UTF8))
        {
            var sd = module.state_dict();
            w.Write(Magic);
            w.Write(half);
            w.Write(sd.Count);
            foreach (var (name, t) in sd)
            {
                using var scope = NewDisposeScope();
                w.Write(name);
                w.Write(t.dim());
                foreach (var d in t.shape) w.Write(d);
                var data = t.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
                if (half) foreach (var v in data) w.Write(BitConverter.HalfToUInt16Bits((Half)v));
                else foreach (var v in data) w.Write(v);
            }
        }
        File.Move(tmp, path, overwrite: true);
    }

    public static void Load(nn.Module module, string path)
    {
        if (!File.Exists(path)) throw new DiffusionInputException(path, "weights file not found");
        using var fs = File.OpenRead(path);
        using var r = new BinaryReader(fs, Encoding.UTF8);
        try
        {
            if (r.ReadString() != Magic) throw new DiffusionInputException(path, "not a CORAL weights file");
            bool half = r.ReadBoolean();
            int count = r.ReadInt32();
            var sd = module.state_dict();
            if (count != sd.Count) throw new DiffusionInputException(path, $"holds {count} tensors, the network has {sd.Count}");
            using var noGrad = no_grad();
            for (int i = 0; i < count; i++)
            {
                string name = r.ReadString();
                var shape = new long[r.ReadInt64()];
                for (int d = 0; d < shape.Length; d++) shape[d] = r.ReadInt64();
                if (!sd.TryGetValue(name, out var target)) throw new DiffusionInputException(path, $"tensor '{name}' is not in the network");
                if (!target.shape.SequenceEqual(shape))
                    throw new DiffusionInputException(path, $"tensor '{name}' has shape [{string.Join(",", shape)}], the network wants [{string.Join(",", target.shape)}]");
                long n = shape.Aggregate(1L, (a, b) => a * b);
                var data = new float[n];
                for (long k = 0; k < n; k++) data[k] = half ? (float)BitConverter.UInt16BitsToHalf(r.ReadUInt16()) : r.ReadSingle();
                using var src = tensor(data, shape);
                target.copy_(src);
            }
        }
        catch (EndOfStreamException e) { throw new DiffusionInputException(path, "truncated weights file: " + e.Message); }
    }
}
