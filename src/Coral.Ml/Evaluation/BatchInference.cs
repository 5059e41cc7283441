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
        ForEachBatch(bundle, data, batchSize, allMembers: true, (o, done, b) =>
        {
            o.Logits.contiguous().data<float>().CopyTo(logits.AsSpan(done * c, b * c));
            if (features is not null) o.Features.contiguous().data<float>().CopyTo(features.AsSpan(done * bundle.Config.FeatureDim, b * bundle.Config.FeatureDim));
            foreach (var kind in kinds)
                LongtailSignals.FromOutputs(kind, bundle, o).contiguous().data<float>().CopyTo(signals[kind].AsSpan(done, b));
            o.MemberLogits.softmax(-1).mean([0]).argmax(-1).to(ScalarType.Int32).data<int>().ToArray().CopyTo(ens.AsSpan(done));
            var mp = o.MemberLogits.argmax(-1).to(ScalarType.Int32).contiguous().data<int>().ToArray();
            for (int m = 0; m < k; m++) mp.AsSpan(m * b, b).CopyTo(memberPred[m].AsSpan(done));
        });
        return new InferenceResult(n, ClassificationMath.ArgMax(logits, c), ens, memberPred, signals, logits, features);
    }

    /// <summary>Member 0's <see cref="SmallCnn.DomainFeatures"/> for a whole set [N, DomainFeatureDim] (what the feature-distance model is fitted on).</summary>
    public static float[] DomainFeatures(ClassifierBundle bundle, LabeledImages data, int batchSize = 500)
    {
        TorchRuntime.EnsureLoaded();
        int dim = bundle.Config.DomainFeatureDim;
        var result = new float[data.Count * dim];
        ForEachBatch(bundle, data, batchSize, allMembers: false, (o, done, b) =>
            o.DomainFeatures.contiguous().data<float>().CopyTo(result.AsSpan(done * dim, b * dim)));
        return result;
    }

    /// <summary>The bundle over the set in batches, in order, under inference mode and a dispose scope per batch; <paramref name="use"/> gets the outputs, the index of the batch's first image and its size.</summary>
    private static void ForEachBatch(ClassifierBundle bundle, LabeledImages data, int batchSize, bool allMembers, Action<BundleOutputs, int, int> use)
    {
        int done = 0;
        foreach (var idx in ImageBatches.Chunks(data.Count, batchSize))
        {
            using var scope = NewDisposeScope();
            using var mode = torch.inference_mode();
            using var o = bundle.Forward(ImageBatches.Images(data, idx), allMembers);
            use(o, done, idx.Length);
            done += idx.Length;
        }
    }
}
