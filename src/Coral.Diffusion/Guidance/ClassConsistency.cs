using Coral.Ml.Classification;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Guidance;

/// <summary>What a classifier ensemble makes of one image, judged against a target class.</summary>
public sealed record ConsistencyVerdict(float[] Probabilities, int PredictedClass, double TargetProbability, bool Consistent);

/// <summary>
/// The class-consistency filter: an image is consistent when the ensemble-mean probability of the target class
/// is at least the threshold. Inconsistent images are marked, never dropped: reviewers decide.
/// </summary>
public static class ClassConsistency
{
    /// <summary>images [B, C, H, W] in [0, 1] at the bundle's size.</summary>
    public static ConsistencyVerdict[] Judge(ClassifierBundle bundle, Tensor images, int targetClass, double threshold)
    {
        if (targetClass < 0 || targetClass >= bundle.NumClasses)
            throw new DiffusionInputException("class", $"{targetClass} is not a class of the classifier (0..{bundle.NumClasses - 1})");
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var p = bundle.MemberLogits(images).softmax(-1).mean([0]).contiguous();   // [B, C]
        int b = (int)p.shape[0], c = (int)p.shape[1];
        var all = p.data<float>().ToArray();
        var verdicts = new ConsistencyVerdict[b];
        for (int i = 0; i < b; i++)
        {
            var row = all.AsSpan(i * c, c).ToArray();
            int arg = 0;
            for (int k = 1; k < c; k++) if (row[k] > row[arg]) arg = k;
            verdicts[i] = new ConsistencyVerdict(row, arg, row[targetClass], row[targetClass] >= threshold);
        }
        return verdicts;
    }
}
