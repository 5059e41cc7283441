using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Schedule;

public enum BetaSchedule { Linear, Cosine }

/// <summary>
/// The forward process and its closed forms (Ho et al. 2020; cosine schedule from Nichol &amp; Dhariwal 2021).
/// Pure math: no network, no training loop. ᾱ is kept in float64 on the host and as a float32 tensor for batches.
/// </summary>
public sealed class GaussianDiffusion
{
    public GaussianDiffusion(BetaSchedule schedule, int timesteps, double betaStart = 1e-4, double betaEnd = 0.02)
    {
        if (timesteps < 2 || timesteps > 10_000)
            throw new DiffusionInputException("timesteps", $"must be in [2, 10000], got {timesteps}");
        Schedule = schedule;
        Timesteps = timesteps;
        Betas = schedule == BetaSchedule.Linear ? LinearBetas(timesteps, betaStart, betaEnd) : CosineBetas(timesteps);
        AlphaBars = new double[timesteps];
        double prod = 1;
        for (int t = 0; t < timesteps; t++) { prod *= 1 - Betas[t]; AlphaBars[t] = prod; }
    }

    public BetaSchedule Schedule { get; }
    public int Timesteps { get; }
    public double[] Betas { get; }
    /// <summary>ᾱ_t = Π_{s≤t} (1 − β_s), strictly decreasing.</summary>
    public double[] AlphaBars { get; }

    /// <summary>ᾱ of a previous step; ᾱ_{−1} = 1 (clean data).</summary>
    public double AlphaBarOrOne(int t) => t < 0 ? 1.0 : AlphaBars[t];

    public static double[] LinearBetas(int T, double start, double end)
    {
        var b = new double[T];
        for (int t = 0; t < T; t++) b[t] = start + (end - start) * t / (T - 1);
        return b;
    }

    /// <summary>β_t = 1 − ᾱ(t+1)/ᾱ(t) with ᾱ(t) = cos²((t/T + s)/(1 + s)·π/2), clipped at 0.999.</summary>
    public static double[] CosineBetas(int T, double s = 0.008)
    {
        static double F(double u, double s) => Math.Pow(Math.Cos((u + s) / (1 + s) * Math.PI / 2), 2);
        var b = new double[T];
        for (int t = 0; t < T; t++) b[t] = Math.Min(1 - F((t + 1.0) / T, s) / F((double)t / T, s), 0.999);
        return b;
    }

    /// <summary>ᾱ_t gathered for a batch of integer timesteps, shaped [B,1,1,1] to broadcast over images.</summary>
    public Tensor AlphaBarAt(Tensor t)
    {
        using var scope = NewDisposeScope();
        var table = tensor(AlphaBars, ScalarType.Float64);
        return table.index_select(0, t.to(ScalarType.Int64)).to(ScalarType.Float32).view(-1, 1, 1, 1).MoveToOuterDisposeScope();
    }

    /// <summary>x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε.</summary>
    public Tensor QSample(Tensor x0, Tensor t, Tensor noise)
    {
        using var scope = NewDisposeScope();
        var ab = AlphaBarAt(t);
        return (ab.sqrt() * x0 + (1 - ab).sqrt() * noise).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t (Tweedie / DDIM estimate) at one ᾱ_t: the samplers and Longtail Guidance use this,
    /// <see cref="PredictX0FromEps"/> is the same formula with a ᾱ per sample.
    /// </summary>
    public static Tensor PredictX0(Tensor xt, Tensor eps, double alphaBar) => (xt - Math.Sqrt(1 - alphaBar) * eps) / Math.Sqrt(alphaBar);

    /// <summary><see cref="PredictX0"/> with ᾱ_t looked up per sample from <paramref name="t"/>.</summary>
    public Tensor PredictX0FromEps(Tensor xt, Tensor t, Tensor eps)
    {
        using var scope = NewDisposeScope();
        var ab = AlphaBarAt(t);
        return ((xt - (1 - ab).sqrt() * eps) / ab.sqrt()).MoveToOuterDisposeScope();
    }

    /// <summary>Per-sample ε-prediction loss ‖ε̂ − ε‖² averaged over pixels, shape [B].</summary>
    public static Tensor EpsilonLoss(Tensor epsPred, Tensor noise)
    {
        using var scope = NewDisposeScope();
        return (epsPred - noise).pow(2).flatten(1).mean([1]).MoveToOuterDisposeScope();
    }
}
