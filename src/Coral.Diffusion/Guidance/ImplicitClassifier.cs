using Coral.Diffusion.Sampling;
using static TorchSharp.torch;

namespace Coral.Diffusion.Guidance;

/// <summary>The diffusion model's own class verdict on one image: its best class and how clearly it prefers the target.</summary>
/// <param name="PredictedClass">argmin over classes of the denoising error.</param>
/// <param name="TargetMargin">error of the best other class − error of the target (per pixel, averaged over timesteps): &gt; 0 means the target is preferred.</param>
/// <param name="Errors">denoising error per class (mean squared ε error per pixel, averaged over the timesteps).</param>
public sealed record ImplicitVerdict(int PredictedClass, double TargetMargin, float[] Errors)
{
    public bool PlacesInClass(int target) => PredictedClass == target;

    /// <summary>The filter's verdict: the target is the argmin and, when a threshold is given, it wins by at least that margin.</summary>
    public bool Passes(int target, double? minMargin) => PlacesInClass(target) && TargetMargin >= (minMargin ?? 0);
}

/// <summary>
/// The class-conditional diffusion model read as a classifier (Li et al. 2023, "Your diffusion model is secretly a
/// zero-shot classifier"): noise the image to a few timesteps with one shared ε per (image, timestep), ask the
/// ε-network for every class, and the class with the smallest error is the model's verdict. The shared noise makes
/// the comparison between classes paired, so a handful of timesteps suffices for a filter.
/// Why here: the guide ensemble is weak on the tail by construction, and Longtail Guidance pushes exactly its
/// confidence down, so it cannot decide whether a guided image still shows its class; a real user has no judge.
/// </summary>
public static class ImplicitClassifier
{
    /// <summary>Default timesteps as fractions of the schedule: mid noise, where the class decides the denoising.</summary>
    public static readonly double[] DefaultFractions = [0.1, 0.25, 0.4, 0.55, 0.7];

    public static int[] Timesteps(int totalTimesteps, IReadOnlyList<double> fractions) =>
        [.. fractions.Select(f => (int)Math.Round(Math.Clamp(f, 0, 1) * (totalTimesteps - 1)))];

    /// <summary>
    /// x0 [B, C, R, R] in [−1, 1] → one verdict per image. <paramref name="seeds"/> (one per image) fix the noise, so a
    /// verdict does not depend on batching.
    /// </summary>
    public static ImplicitVerdict[] Judge(DiffusionModel model, Tensor x0, IReadOnlyList<int> targets, IReadOnlyList<long> seeds, int[] timesteps)
    {
        int b = (int)x0.shape[0], k = model.NumClasses, m = timesteps.Length;
        if (seeds.Count != b || targets.Count != b) throw new ArgumentException($"{b} images, {seeds.Count} seeds, {targets.Count} targets");
        if (m == 0) throw new DiffusionInputException("implicit-timesteps", "need at least one timestep");
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var errors = zeros(b, k);
        foreach (var (t, j) in timesteps.Select((t, j) => (t, j)))
        {
            var gens = SamplerCore.Generators([.. seeds.Select(s => SamplerCore.SeedFor(s, 7_000 + j))]);
            Tensor noise;
            try { noise = SamplerCore.Noise(gens, model.Channels, model.Resolution); }
            finally { foreach (var g in gens) g.Dispose(); }
            var tt = full(b, t, ScalarType.Int64);
            var xt = model.Diffusion.QSample(x0, tt, noise);
            for (int c = 0; c < k; c++)
            {
                using var inner = NewDisposeScope();
                var eps = model.Network.Epsilon(xt, tt, full(b, c, ScalarType.Int64));
                var err = (eps - noise).pow(2).mean([1, 2, 3]);
                errors[TensorIndex.Colon, c].add_(err / m);
            }
        }
        var all = errors.contiguous().data<float>().ToArray();
        var verdicts = new ImplicitVerdict[b];
        for (int i = 0; i < b; i++)
        {
            var row = all.AsSpan(i * k, k).ToArray();
            int best = 0;
            for (int c = 1; c < k; c++) if (row[c] < row[best]) best = c;
            int target = targets[i];
            float other = float.PositiveInfinity;
            for (int c = 0; c < k; c++) if (c != target && row[c] < other) other = row[c];
            verdicts[i] = new ImplicitVerdict(best, other - row[target], row);
        }
        return verdicts;
    }
}
