// Folder Coral/, namespace Contrastive: a namespace named "Coral" would shadow the root Coral.* namespaces inside Coral.Diffusion.
namespace Coral.Diffusion.Contrastive;

/// <summary>
/// CORAL hyperparameters (Rodriguez et al. 2025). Defaults follow the paper's Table 3 (w 0.01, τ 0.1, τ_r 1.0);
/// the public code's defaults (w 0.5, τ_r 0.3) make λ(0) ≈ 14, which swamps the ε-loss of a short run.
/// </summary>
public sealed record CoralOptions
{
    public bool Enabled { get; init; } = true;
    /// <summary>w in λ(t) = w·exp((1 − t/T)/τ_r).</summary>
    public double Weight { get; init; } = 0.01;
    /// <summary>τ_r: how sharply λ(t) favours low-noise timesteps.</summary>
    public double TimeTemperature { get; init; } = 1.0;
    /// <summary>τ of the supervised contrastive loss.</summary>
    public double Temperature { get; init; } = 0.1;
    public int ProjectionDim { get; init; } = 128;

    public void Validate()
    {
        if (Weight < 0) throw new DiffusionInputException("coral-weight", $"must be ≥ 0, got {Weight}");
        if (TimeTemperature <= 0) throw new DiffusionInputException("coral-tau-r", $"must be > 0, got {TimeTemperature}");
        if (Temperature <= 0) throw new DiffusionInputException("coral-tau", $"must be > 0, got {Temperature}");
        if (ProjectionDim < 1) throw new DiffusionInputException("coral-proj-dim", $"must be ≥ 1, got {ProjectionDim}");
    }

    /// <summary>λ(t) = w·exp((1 − t/T)/τ_r).</summary>
    public double Lambda(int t, int T) => Weight * Math.Exp((1.0 - (double)t / T) / TimeTemperature);
}
