using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Sampling;

/// <summary>
/// DDIM (Song et al. 2021) with η and a step count, classifier-free guidance, per-image seeds and an ε-hook.
/// x_{prev} = √ᾱ_prev·x̂0 + √(1−ᾱ_prev−σ²)·ε̂ + σ·z,  σ = η·√((1−ᾱ_prev)/(1−ᾱ_t))·√(1−ᾱ_t/ᾱ_prev).
/// η = 0 is deterministic given the start noise; η = 1 over all T steps is DDPM's posterior variance.
/// </summary>
public static class DdimSampler
{
    /// <summary>Evenly spaced timesteps from T−1 down to 0 (<paramref name="steps"/> of them).</summary>
    public static int[] Timesteps(int totalTimesteps, int steps)
    {
        if (steps < 1 || steps > totalTimesteps)
            throw new DiffusionInputException("steps", $"{steps} is out of range [1, {totalTimesteps}]");
        if (steps == 1) return [totalTimesteps - 1];
        var ts = new int[steps];
        for (int i = 0; i < steps; i++) ts[i] = (int)Math.Round((totalTimesteps - 1) * (1.0 - (double)i / (steps - 1)));
        return ts;
    }

    /// <summary>
    /// Samples one image per label, in batches; returns x0 [N, C, R, R] in [-1, 1]. Image i starts from noise seeded by
    /// <see cref="SamplerCore.SeedFor"/>(seed, i), so results do not depend on <paramref name="batchSize"/>.
    /// </summary>
    public static Tensor Sample(DiffusionModel model, IReadOnlyList<int> labels, int steps, double eta, double guidanceScale, long seed,
        Func<StepContext, Tensor>? epsilonHook = null, Action<StepContext>? observe = null, int batchSize = 64, CancellationToken ct = default)
    {
        var plan = Timesteps(model.Diffusion.Timesteps, steps);
        CheckEta(eta);
        SamplerCore.CheckScale(guidanceScale);
        if (batchSize < 1) throw new DiffusionInputException("batch", $"must be ≥ 1, got {batchSize}");
        using var all = SamplerCore.LabelsTensor(model, labels);
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (int start = 0; start < labels.Count; start += batchSize)
        {
            int b = Math.Min(batchSize, labels.Count - start);
            var seeds = Enumerable.Range(start, b).Select(i => SamplerCore.SeedFor(seed, i)).ToArray();
            parts.Add(SampleFrom(model, all[start..(start + b)], null, plan, eta, guidanceScale, seeds, epsilonHook, observe, ct));
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The low-level entry (used by Longtail Guidance): one batch, explicit per-image seeds and timestep plan.
    /// <paramref name="xStart"/> null starts from seeded noise at plan[0]; otherwise it is x_{plan[0]} (e.g. a noised
    /// source image). The seeded generators then drive η-noise.
    /// </summary>
    public static Tensor SampleFrom(DiffusionModel model, Tensor labels, Tensor? xStart, int[] plan, double eta, double guidanceScale,
        IReadOnlyList<long> seeds, Func<StepContext, Tensor>? epsilonHook = null, Action<StepContext>? observe = null, CancellationToken ct = default)
    {
        CheckEta(eta);
        SamplerCore.CheckScale(guidanceScale);
        if (plan.Length == 0 || plan.Any(t => t < 0 || t >= model.Diffusion.Timesteps) || plan.Zip(plan.Skip(1)).Any(p => p.Second >= p.First))
            throw new DiffusionInputException("steps", "timestep plan must be strictly decreasing within [0, T)");
        if (seeds.Count != labels.shape[0]) throw new DiffusionInputException("seeds", $"{seeds.Count} seeds for {labels.shape[0]} labels");
        using var scope = NewDisposeScope();
        var gens = SamplerCore.Generators(seeds);
        try
        {
            var x = xStart ?? SamplerCore.Noise(gens, model.Channels, model.Resolution);
            return SamplerCore.Run(model, labels, x, plan, guidanceScale, (ctx, g) => Update(ctx, g, eta, model), gens, epsilonHook, observe, ct)
                .MoveToOuterDisposeScope();
        }
        finally { foreach (var g in gens) g.Dispose(); }
    }

    private static Tensor Update(StepContext s, Generator[] gens, double eta, DiffusionModel model)
    {
        using var scope = NewDisposeScope();
        var x0 = s.X0.clamp(-1, 1);
        double a = s.AlphaBar, ap = s.AlphaBarPrevious;
        double sigma = eta * Math.Sqrt((1 - ap) / (1 - a)) * Math.Sqrt(Math.Max(0, 1 - a / ap));
        var x = Math.Sqrt(ap) * x0 + Math.Sqrt(Math.Max(0, 1 - ap - sigma * sigma)) * s.Epsilon;
        if (sigma > 0) x = x + sigma * SamplerCore.Noise(gens, model.Channels, model.Resolution);
        return x.MoveToOuterDisposeScope();
    }

    private static void CheckEta(double eta)
    {
        if (!(eta >= 0 && eta <= 1)) throw new DiffusionInputException("eta", $"{eta} is out of range [0, 1]");
    }
}
