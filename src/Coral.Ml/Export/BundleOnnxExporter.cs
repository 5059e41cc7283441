using Coral.Ml.Classification;
using Coral.Ml.Signals;
using Google.Protobuf;
using Coral.Scoring.Onnx;
using Onnx;
using static TorchSharp.torch;

namespace Coral.Ml.Export;

/// <summary>
/// Writes the classifier bundle's whole scoring graph (every member, the epistemic head and every signal) as one ONNX
/// model, from the bundle's own weights: TorchSharp has no exporter. BatchNorm is folded into the convolutions (eval
/// mode is a fixed affine map). The model's metadata carries what a scorer needs without TorchSharp: class names, input
/// shape, calibration thresholds and the flag signal. Output names are <see cref="OnnxNames"/>.
/// </summary>
public static class BundleOnnxExporter
{
    public const long Opset = 17;
    private const float BatchNormEps = 1e-5f;

    public static ModelProto Export(ClassifierBundle bundle, string version)
    {
        var c = bundle.Config;
        var g = new GraphBuilder();
        int hp = c.Height / 4, wp = c.Width / 4;   // after two 2×2 max pools (floor)
        if (hp < 2 || wp < 2)
            throw new ArgumentException($"the {c.Height}x{c.Width} input pools to {hp}x{wp}; ONNX export needs at least 8x8 images");
        var logits = new List<string>();
        string? features0 = null;
        var blocks0 = new List<string>();   // member 0's conv block activations, for the domain features
        for (int m = 0; m < bundle.NumMembers; m++)
        {
            var sd = bundle.Members[m].state_dict();
            string p = $"m{m}";
            var h = ConvBnRelu(g, OnnxNames.Images, sd, "conv1", "bn1", $"{p}.c1");
            if (m == 0) blocks0.Add(h);
            h = g.Node("MaxPool", [h], $"{p}.p1", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
            h = ConvBnRelu(g, h, sd, "conv2", "bn2", $"{p}.c2");
            if (m == 0) blocks0.Add(h);
            h = g.Node("MaxPool", [h], $"{p}.p2", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
            h = ConvBnRelu(g, h, sd, "conv3", "bn3", $"{p}.c3");
            if (m == 0) blocks0.Add(h);
            // Adaptive average pool to 2×2 as one uniform pool: windows [0, ⌈n/2⌉) and [⌊n/2⌋, n) per axis.
            h = g.Node("AveragePool", [h], $"{p}.gap", ("kernel_shape", new long[] { (hp + 1) / 2, (wp + 1) / 2 }),
                ("strides", new long[] { Math.Max(1, hp / 2), Math.Max(1, wp / 2) }));
            h = g.Node("Flatten", [h], $"{p}.flat", ("axis", 1L));
            var f = g.Node("Relu", [Linear(g, h, sd, "fc1", $"{p}.fc1")], $"{p}.features");
            features0 ??= f;
            logits.Add(Linear(g, f, sd, "fc2", $"{p}.logits"));
        }
        g.Output(g.Node("Identity", [logits[0]], OnnxNames.Logits), [-1, c.NumClasses]);
        var logp0 = g.Node("LogSoftmax", [logits[0]], "logp0", ("axis", 1L));
        g.Output(Entropy(g, logp0, "m0"), [-1], OnnxNames.Entropy);
        g.Output(g.Node("Neg", [g.Node("ReduceLogSumExp", [logits[0]], "lse", ("axes", new long[] { 1 }), ("keepdims", 0L))], OnnxNames.Energy), [-1]);
        if (bundle.NumMembers >= 2) g.Output(MutualInformation(g, logits), [-1], OnnxNames.MutualInformation);
        if (bundle.Head is { } head)
        {
            var sd = head.state_dict();
            var x = g.Node("Concat", [features0!, logp0], "head.in", ("axis", 1L));
            var z = Linear(g, g.Node("Relu", [Linear(g, x, sd, "fc1", "head.fc1")], "head.relu"), sd, "fc2", "head.fc2");
            var soft = g.Node("Softplus", [z], "head.softplus");
            var squeezed = g.Node("Squeeze", [soft, g.Constant("head.axis", [1L])], "head.squeeze");
            g.Output(g.Node("Mul", [squeezed, g.Constant("head.scale", [head.Scale])], OnnxNames.EpistemicHead), [-1]);
        }
        if (bundle.Domain is { } d)
        {
            // SmallCnn.DomainFeatures: per-channel means of the three blocks, then the penultimate features.
            var means = blocks0.Select((b, i) => g.Node("ReduceMean", [b], $"fd.gap{i + 1}", ("axes", new long[] { 2, 3 }), ("keepdims", 0L)));
            var domain = g.Node("Concat", [.. means, features0!], "fd.features", ("axis", 1L));
            g.Output(FeatureDistance(g, domain, d), [-1], OnnxNames.FeatureDistance);
        }

        var model = new ModelProto
        {
            IrVersion = 8, ProducerName = "CoralFunctions", ProducerVersion = version, Graph = g.Build("coral-scorer", c),
            DocString = "CoralFunctions classifier bundle: member 0 predicts, the ensemble and the head give longtail signals",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in OnnxMetadata.Of(bundle, version)) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    public static void Save(ClassifierBundle bundle, string path, string version)
    {
        var bytes = Export(bundle, version).ToByteArray();
        string tmp = path + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>min_k ‖W f − W μ_k‖² from features [N, D] → [N] (ReduceSum takes its axes as an input from opset 13).</summary>
    private static string FeatureDistance(GraphBuilder g, string features, FeatureDistance d)
    {
        var wt = new float[d.Dim * d.Dim];
        for (int r = 0; r < d.Dim; r++)
            for (int c = 0; c < d.Dim; c++) wt[c * d.Dim + r] = d.Whiten[r * d.Dim + c];
        var wf = g.Node("MatMul", [features, g.Constant("fd.wt", wt, [d.Dim, d.Dim])], "fd.wf");
        var diff = g.Node("Sub", [g.Node("Unsqueeze", [wf, g.Constant("fd.axis1", [1L])], "fd.wf3"), g.Constant("fd.wm", d.WhitenedMeans(), [d.Classes, d.Dim])], "fd.diff");
        var d2 = g.Node("ReduceSum", [g.Node("Mul", [diff, diff], "fd.sq"), g.Constant("fd.axis2", [2L])], "fd.d2", ("keepdims", 0L));
        return g.Node("ReduceMin", [d2], "fd.min", ("axes", new long[] { 1 }), ("keepdims", 0L));
    }

    /// <summary>H = −Σ p log p from log-probabilities [N, K] → [N].</summary>
    private static string Entropy(GraphBuilder g, string logp, string p)
    {
        var prob = g.Node("Exp", [logp], $"{p}.p");
        var plogp = g.Node("Mul", [prob, logp], $"{p}.plogp");
        return g.Node("Neg", [g.Node("ReduceSum", [plogp, g.Constant($"{p}.ax", [1L])], $"{p}.sum", ("keepdims", 0L))], $"{p}.entropy");
    }

    /// <summary>BALD: H[mean_k p_k] − mean_k H[p_k], clamped at 0 (as <see cref="SignalMath.MutualInformation"/>).</summary>
    private static string MutualInformation(GraphBuilder g, List<string> logits)
    {
        var probs = new List<string>();
        var entropies = new List<string>();
        for (int m = 0; m < logits.Count; m++)
        {
            // Member 0's probabilities and entropy already exist (the entropy output); the others get theirs here.
            string prefix = m == 0 ? "m0" : $"mi{m}";
            entropies.Add(m == 0 ? "m0.entropy" : Entropy(g, g.Node("LogSoftmax", [logits[m]], $"logp{m}", ("axis", 1L)), prefix));
            probs.Add($"{prefix}.p");
        }
        var inv = g.Constant("mi.invk", [1f / logits.Count]);
        var meanP = g.Node("Mul", [g.Node("Sum", [.. probs], "mi.sump"), inv], "mi.meanp");
        var logMean = g.Node("Log", [g.Node("Max", [meanP, g.Constant("mi.eps", [1e-30f])], "mi.clamp")], "mi.logmean");
        var total = g.Node("Neg", [g.Node("ReduceSum", [g.Node("Mul", [meanP, logMean], "mi.plogp"), g.Constant("mi.ax", [1L])], "mi.totsum", ("keepdims", 0L))], "mi.total");
        var expected = g.Node("Mul", [g.Node("Sum", [.. entropies], "mi.sumh"), inv], "mi.expected");
        return g.Node("Max", [g.Node("Sub", [total, expected], "mi.diff"), g.Constant("mi.zero", [0f])], OnnxNames.MutualInformation);
    }

    private static string ConvBnRelu(GraphBuilder g, string input, IDictionary<string, Tensor> sd, string conv, string bn, string name)
    {
        using var scope = NewDisposeScope();
        var w = sd[conv + ".weight"];
        var scale = sd[bn + ".weight"] / (sd[bn + ".running_var"] + BatchNormEps).sqrt();
        var wFolded = w * scale.view(-1, 1, 1, 1);
        var bFolded = (sd[conv + ".bias"] - sd[bn + ".running_mean"]) * scale + sd[bn + ".bias"];
        var y = g.Node("Conv", [input, g.Weight($"{name}.w", wFolded), g.Weight($"{name}.b", bFolded)], $"{name}.conv",
            ("kernel_shape", new long[] { w.shape[2], w.shape[3] }), ("pads", new long[] { 1, 1, 1, 1 }));
        return g.Node("Relu", [y], $"{name}.relu");
    }

    private static string Linear(GraphBuilder g, string input, IDictionary<string, Tensor> sd, string layer, string name) =>
        g.Node("Gemm", [input, g.Weight($"{name}.w", sd[layer + ".weight"]), g.Weight($"{name}.b", sd[layer + ".bias"])], name, ("transB", 1L));

    /// <summary>Accumulates nodes and float initialisers; names are unique by construction.</summary>
    internal sealed class GraphBuilder
    {
        private readonly GraphProto graph = new();

        public string Node(string op, string[] inputs, string output, params (string Name, object Value)[] attributes)
        {
            var node = new NodeProto { OpType = op, Name = output };
            node.Input.AddRange(inputs);
            node.Output.Add(output);
            foreach (var (n, v) in attributes)
            {
                var a = new AttributeProto { Name = n };
                switch (v)
                {
                    case long i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
                    case long[] ints: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ints); break;
                    default: throw new ArgumentException($"attribute {n}: unsupported type {v.GetType()}");
                }
                node.Attribute.Add(a);
            }
            graph.Node.Add(node);
            return output;
        }

        public string Weight(string name, Tensor t)
        {
            var data = t.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
            var tp = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan())) };
            tp.Dims.AddRange(t.shape);
            graph.Initializer.Add(tp);
            return name;
        }

        public string Constant(string name, float[] values)
        {
            var tp = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            tp.FloatData.AddRange(values);
            if (values.Length > 1) tp.Dims.Add(values.Length);
            graph.Initializer.Add(tp);
            return name;
        }

        public string Constant(string name, float[] values, long[] dims)
        {
            var tp = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            tp.FloatData.AddRange(values);
            tp.Dims.AddRange(dims);
            graph.Initializer.Add(tp);
            return name;
        }

        public string Constant(string name, long[] values)
        {
            var tp = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            tp.Int64Data.AddRange(values);
            tp.Dims.Add(values.Length);
            graph.Initializer.Add(tp);
            return name;
        }

        public void Output(string name, long[] dims, string? rename = null)
        {
            if (rename is not null && rename != name) name = Node("Identity", [name], rename);
            graph.Output.Add(Value(name, dims));
        }

        public GraphProto Build(string name, CnnConfig c)
        {
            graph.Name = name;
            graph.Input.Add(Value(OnnxNames.Images, [-1, c.Channels, c.Height, c.Width]));
            return graph;
        }

        /// <summary>A float tensor's name and shape; a negative dimension is the symbolic batch size "N".</summary>
        internal static ValueInfoProto Value(string name, long[] dims)
        {
            var shape = new TensorShapeProto();
            foreach (var d in dims)
                shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "N" } : new TensorShapeProto.Types.Dimension { DimValue = d });
            return new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
            };
        }
    }
}
