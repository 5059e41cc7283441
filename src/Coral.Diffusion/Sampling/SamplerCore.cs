using Coral.Diffusion.Schedule;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Sampling;

/// <summary>Limits and helpers shared by the DDIM and DDPM samplers.</summary>
public static class SamplerCore
{
    public const double MaxGuidanceScale = 20;

    /// <summary>
    /// Classifier-free guidance ω of the shipped settings (DDIM 25 steps, η = 0). 0.25, chosen on a tuning draw (sampling
    /// seed 1) of the shipped model: highest lowest-tail-class judge consistency (89 %, vs 81 % at ω 0, 87 % at 0.5,
    /// 36 % at 1), then lowest FID (7.2, vs 9.1 / 9.3 / 27.9); ω = 2 pushed samples off the data (FID 70).
    /// See docs/results/diffusion-coral.md.
    /// </summary>
    public const double ShippedGuidanceScale = 0.25;

    public static void CheckScale(double guidanceScale)
    {
        if (!(guidanceScale >= 0 && guidanceScale <= MaxGuidanceScale))
            throw new DiffusionInputException("guidance-scale", $"{guidanceScale} is out of range [0, {MaxGuidanceScale}]");
    }

    /// <summary>Per-image seed from a base seed and the image index (FNV-1a): an image's noise does not depend on batching.</summary>
    public static long SeedFor(long seed, int index)
    {
        unchecked
        {
            ulong h = 14695981039346656037UL;
            foreach (var part in new[] { seed, index })
                for (int b = 0; b < 8; b++) { h ^= (byte)(part >> (8 * b)); h *= 1099511628211UL; }
            return (long)(h & 0x7FFF_FFFF_FFFF_FFFFUL);
        }
    }

    /// <summary>One generator per image, seeded from <paramref name="seeds"/>.</summary>
    public static Generator[] Generators(IReadOnlyList<long> seeds) => [.. seeds.Select(s => new Generator((ulong)s))];

    /// <summary>Standard normal noise [B, C, H, W], row i drawn from generator i.</summary>
    public static Tensor Noise(Generator[] gens, int channels, int size)
    {
        using var scope = NewDisposeScope();
        var rows = gens.Select(g => randn([1, channels, size, size], generator: g)).ToArray();
        return cat(rows, 0).MoveToOuterDisposeScope();
    }

    internal static Tensor LabelsTensor(DiffusionModel model, IReadOnlyList<int> labels)
    {
        if (labels.Count == 0) throw new DiffusionInputException("labels", "need at least one class label");
        model.CheckLabels(labels);
        return tensor(labels.Select(l => (long)l).ToArray());
    }

    /// <summary>
    /// The shared reverse loop: for each planned timestep, ε̂ (guided) → hook → x̂0 → <paramref name="update"/>.
    /// Runs under no_grad (not inference mode) so a hook can build a graph on a copy of x_t.
    /// </summary>
    internal static Tensor Run(DiffusionModel model, Tensor labels, Tensor xStart, int[] timesteps, double guidanceScale,
        Func<StepContext, Generator[], Tensor> update, Generator[] gens, Func<StepContext, Tensor>? hook, Action<StepContext>? observe, CancellationToken ct)
    {
        using var outer = NewDisposeScope();
        using var noGrad = no_grad();
        var x = xStart;
        var ab = model.Diffusion.AlphaBars;
        for (int i = 0; i < timesteps.Length; i++)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int t = timesteps[i], prev = i + 1 < timesteps.Length ? timesteps[i + 1] : -1;
            var tt = full(labels.shape[0], t, ScalarType.Int64);
            Tensor Denoise(Tensor xin) => model.GuidedEpsilon(xin, tt, labels, guidanceScale);
            var eps = Denoise(x);
            double a = ab[t], aPrev = model.Diffusion.AlphaBarOrOne(prev);
            Tensor X0Of(Tensor e) => GaussianDiffusion.PredictX0(x, e, a);
            var ctx = new StepContext
            {
                StepIndex = i, StepCount = timesteps.Length, Timestep = t, PreviousTimestep = prev, AlphaBar = a, AlphaBarPrevious = aPrev,
                Xt = x, Epsilon = eps, X0 = X0Of(eps), Labels = labels, GuidanceScale = guidanceScale, Denoise = Denoise,
            };
            if (hook is not null)
            {
                var replaced = hook(ctx);
                if (!ReferenceEquals(replaced, eps))
                {
                    if (!replaced.shape.SequenceEqual(eps.shape))
                        throw new InvalidOperationException($"ε-hook returned shape [{string.Join(",", replaced.shape)}], expected [{string.Join(",", eps.shape)}]");
                    ctx = ctx with { Epsilon = replaced.detach(), X0 = X0Of(replaced.detach()) };
                }
            }
            observe?.Invoke(ctx);
            x = update(ctx, gens).MoveToOuterDisposeScope();
        }
        return x.MoveToOuterDisposeScope();
    }
}
