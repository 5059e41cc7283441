using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Signals;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Evaluation;

/// <summary>Everything a bundle says about a labelled set, as flat arrays (for metrics, head training, calibration).</summary>
public sealed record InferenceResult(
    int Count,
    int[] Predicted,
    int[] EnsemblePredicted,
    int[][] MemberPredicted,
    IReadOnlyDictionary<SignalKind, float[]> Signals,
    float[] Logits,
    float[]? Features);

/// <summary>Runs a bundle over a whole <see cref="LabeledImages"/> set in batches under inference mode.</summary>
public static class BatchInference
{
    public static InferenceResult Run(ClassifierBundle bundle, LabeledImages data, int batchSize = 500, bool keepFeatures = false)
    {
        TorchRuntime.EnsureLoaded();
        int n = data.Count, c = bundle.NumClasses, k = bundle.NumMembers;
        var kinds = LongtailSignals.Available(bundle);
        var signals = kinds.ToDictionary(s => s, _ => new float[n]);
        var logits = new float[n * c];
        var ens = new int[n];
        var memberPred = Enumerable.Range(0, k).Select(_ => new int[n]).ToArray();
        var features = keepFeatures ? new float[n * bundle.Config.FeatureDim] : null;
        int done = 0;
        foreach (var idx in ImageBatches.Chunks(n, batchSize))
        {
            using var scope = NewDisposeScope();
            using var mode = torch.inference_mode();
            using var o = bundle.Forward(ImageBatches.Images(data, idx));
            int b = idx.Length;
            o.Logits.contiguous().data<float>().CopyTo(logits.AsSpan(done * c, b * c));
            if (features is not null) o.Features.contiguous().data<float>().CopyTo(features.AsSpan(done * bundle.Config.FeatureDim, b * bundle.Config.FeatureDim));
            foreach (var kind in kinds)
            {
                var v = LongtailSignals.FromOutputs(kind, bundle, o);
                v.contiguous().data<float>().CopyTo(signals[kind].AsSpan(done, b));
            }
            var meanP = o.MemberLogits.softmax(-1).mean([0]).argmax(-1).to(ScalarType.Int32).data<int>().ToArray();
            meanP.CopyTo(ens.AsSpan(done));
            var mp = o.MemberLogits.argmax(-1).to(ScalarType.Int32).contiguous().data<int>().ToArray();
            for (int m = 0; m < k; m++) mp.AsSpan(m * b, b).CopyTo(memberPred[m].AsSpan(done));
            done += b;
        }
        return new InferenceResult(n, ClassificationMath.ArgMax(logits, c), ens, memberPred, signals, logits, features);
    }

    /// <summary>Member 0's <see cref="SmallCnn.DomainFeatures"/> for a whole set [N, DomainFeatureDim] (what the feature-distance model is fitted on).</summary>
    public static float[] DomainFeatures(ClassifierBundle bundle, LabeledImages data, int batchSize = 500)
    {
        TorchRuntime.EnsureLoaded();
        int dim = bundle.Config.DomainFeatureDim, done = 0;
        var result = new float[data.Count * dim];
        foreach (var idx in ImageBatches.Chunks(data.Count, batchSize))
        {
            using var scope = NewDisposeScope();
            using var mode = torch.inference_mode();
            using var o = bundle.Forward(ImageBatches.Images(data, idx), allMembers: false);
            o.DomainFeatures.contiguous().data<float>().CopyTo(result.AsSpan(done * dim, idx.Length * dim));
            done += idx.Length;
        }
        return result;
    }
}
