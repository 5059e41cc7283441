// Folder Coral/, namespace Contrastive: a namespace named "Coral" would shadow the root Coral.* namespaces inside Coral.Diffusion.
namespace Coral.Diffusion.Contrastive;

/// <summary>How λ(t) is applied to the per-anchor SupCon losses.</summary>
public enum LambdaReduction
{
    /// <summary>The public code (SankarLab/coral-lt-diffusion, diffusion.py): λ averaged over the batch, one scalar per step.</summary>
    BatchMean,
    /// <summary>The paper's formula read literally: each anchor weighted by its own λ(t_i).</summary>
    PerSample,
}

/// <summary>
/// CORAL hyperparameters (Rodriguez et al. 2025). The defaults reproduce the public code, which is what reaches the
/// paper's numbers: w = 0.5, τ_r = 0.3, the SupCon term multiplied by τ a second time (main.py), λ averaged over the
/// batch. Its effective weight is 0.5 · 0.1 · E_t[exp((1 − t/T)/0.3)] ≈ 0.41, nearly constant in t. (The paper's Table 3
/// reading, w = 0.01 with τ_r = 1 and no extra τ, is about 24× weaker: 0.017.)
/// </summary>
public sealed record CoralOptions
{
    public bool Enabled { get; init; } = true;
    /// <summary>w in λ(t) = w·exp((1 − t/T)/τ_r).</summary>
    public double Weight { get; init; } = 0.5;
    /// <summary>τ_r: how sharply λ(t) favours low-noise timesteps.</summary>
    public double TimeTemperature { get; init; } = 0.3;
    /// <summary>τ of the supervised contrastive loss.</summary>
    public double Temperature { get; init; } = 0.1;
    /// <summary>Multiply the SupCon term by τ once more, as the public code's main.py does.</summary>
    public bool ScaleByTemperature { get; init; } = true;
    public LambdaReduction Reduction { get; init; } = LambdaReduction.BatchMean;
    public int ProjectionDim { get; init; } = 128;

    public void Validate()
    {
        if (Weight < 0) throw new DiffusionInputException("coral-weight", $"must be ≥ 0, got {Weight}");
        if (TimeTemperature <= 0) throw new DiffusionInputException("coral-tau-r", $"must be > 0, got {TimeTemperature}");
        if (Temperature <= 0) throw new DiffusionInputException("coral-tau", $"must be > 0, got {Temperature}");
        if (ProjectionDim < 1) throw new DiffusionInputException("coral-proj-dim", $"must be ≥ 1, got {ProjectionDim}");
    }

    /// <summary>λ(t) = w·exp((1 − t/T)/τ_r), before the optional extra τ.</summary>
    public double Lambda(int t, int T) => Weight * Math.Exp((1.0 - (double)t / T) / TimeTemperature);

    /// <summary>Factor applied on top of λ: τ when <see cref="ScaleByTemperature"/>, else 1.</summary>
    public double ExtraScale => ScaleByTemperature ? Temperature : 1.0;

    /// <summary>
    /// Expected multiplier of the SupCon term under uniform t: extra scale · w · E_u[exp((1 − u)/τ_r)] = scale · w · τ_r · (e^{1/τ_r} − 1).
    /// One number to compare arms by, whatever the reduction.
    /// </summary>
    public double EffectiveWeight => ExtraScale * Weight * TimeTemperature * (Math.Exp(1.0 / TimeTemperature) - 1.0);
}
