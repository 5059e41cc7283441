using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace Coral.Ml.Export;

/// <summary>
/// The 1024² float32 matmul roof as ONNX Runtime reaches it (MLAS kernels): the yardstick for the ONNX rows of
/// `coral bench score`. libtorch's matmul can be slower on the same cores, so a fraction against it alone could exceed 1.
/// </summary>
public static class OnnxMatmulRoof
{
    public static double Gflops(int threads, int n = 1024, int reps = 10)
    {
        var a = new TensorProto { Name = "b", DataType = (int)TensorProto.Types.DataType.Float };
        a.Dims.AddRange([n, n]);
        var data = new float[n * n];
        var rng = new Random(0);
        for (int i = 0; i < data.Length; i++) data[i] = (float)rng.NextDouble();
        a.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        var graph = new GraphProto { Name = "matmul" };
        graph.Initializer.Add(a);
        var node = new NodeProto { OpType = "MatMul", Name = "mm" };
        node.Input.AddRange(["x", "b"]);
        node.Output.Add("y");
        graph.Node.Add(node);
        graph.Input.Add(BundleOnnxExporter.GraphBuilder.Value("x", [n, n]));
        graph.Output.Add(BundleOnnxExporter.GraphBuilder.Value("y", [n, n]));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = BundleOnnxExporter.Opset });
        using var session = new InferenceSession(model.ToByteArray(), new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 });
        var x = new DenseTensor<float>(data, [n, n]);
        var inputs = new[] { NamedOnnxValue.CreateFromTensor("x", x) };
        for (int i = 0; i < 2; i++) using (session.Run(inputs)) { }
        double best = double.MaxValue;
        for (int rep = 0; rep < 3; rep++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) using (session.Run(inputs)) { }
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n * reps / best / 1e9;
    }
}
