using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Sampling;

/// <summary>
/// DDPM ancestral sampling (Ho et al. 2020) over all T steps: x_{t−1} = μ̃(x_t, x̂0) + √β̃_t·z with the posterior
/// μ̃ = β_t√ᾱ_{t−1}/(1−ᾱ_t)·x̂0 + (1−ᾱ_{t−1})√α_t/(1−ᾱ_t)·x_t and β̃_t = β_t(1−ᾱ_{t−1})/(1−ᾱ_t). Same guidance, seeds and hook as DDIM.
/// </summary>
public static class DdpmSampler
{
    public static Tensor Sample(DiffusionModel model, IReadOnlyList<int> labels, double guidanceScale, long seed,
        Func<StepContext, Tensor>? epsilonHook = null, Action<StepContext>? observe = null, int batchSize = 64, CancellationToken ct = default)
    {
        SamplerCore.CheckScale(guidanceScale);
        if (batchSize < 1) throw new DiffusionInputException("batch", $"must be ≥ 1, got {batchSize}");
        int T = model.Diffusion.Timesteps;
        var plan = Enumerable.Range(0, T).Reverse().ToArray();
        using var all = SamplerCore.LabelsTensor(model, labels);
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (int start = 0; start < labels.Count; start += batchSize)
        {
            int b = Math.Min(batchSize, labels.Count - start);
            var gens = SamplerCore.Generators(Enumerable.Range(start, b).Select(i => SamplerCore.SeedFor(seed, i)).ToArray());
            try
            {
                var x = SamplerCore.Noise(gens, model.Channels, model.Resolution);
                parts.Add(SamplerCore.Run(model, all[start..(start + b)], x, plan, guidanceScale, (ctx, g) => Update(ctx, g, model), gens, epsilonHook, observe, ct));
            }
            finally { foreach (var g in gens) g.Dispose(); }
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    private static Tensor Update(StepContext s, Generator[] gens, DiffusionModel model)
    {
        using var scope = NewDisposeScope();
        int t = s.Timestep;
        double beta = model.Diffusion.Betas[t], a = s.AlphaBar, ap = s.AlphaBarPrevious;
        var x0 = s.X0.clamp(-1, 1);
        var mean = beta * Math.Sqrt(ap) / (1 - a) * x0 + (1 - ap) * Math.Sqrt(1 - beta) / (1 - a) * s.Xt;
        if (t == 0) return mean.MoveToOuterDisposeScope();
        double variance = beta * (1 - ap) / (1 - a);
        return (mean + Math.Sqrt(variance) * SamplerCore.Noise(gens, model.Channels, model.Resolution)).MoveToOuterDisposeScope();
    }
}
