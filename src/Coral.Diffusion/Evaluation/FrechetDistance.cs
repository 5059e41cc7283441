using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Diffusion.Evaluation;

/// <summary>
/// Fréchet distance between Gaussians fitted to two feature sets (the FID formula):
/// ‖μ1−μ2‖² + tr Σ1 + tr Σ2 − 2·tr((Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}). Square roots via symmetric eigen-decomposition in float64,
/// negative eigenvalues from round-off clamped to 0 (works for rank-deficient covariances of small sample sets).
/// </summary>
public static class FrechetDistance
{
    public readonly record struct Gaussian(double[] Mean, double[,] Covariance);

    /// <summary>Mean and unbiased covariance of features [N, D] (N ≥ 2).</summary>
    public static Gaussian Fit(Tensor features)
    {
        if (features.dim() != 2 || features.shape[0] < 2)
            throw new DiffusionInputException("features", $"need [N≥2, D] features, got [{string.Join(",", features.shape)}]");
        using var scope = NewDisposeScope();
        var f = features.to(ScalarType.Float64);
        var mu = f.mean([0]);
        var c = f - mu;
        var cov = c.t().matmul(c) / (f.shape[0] - 1);
        return new Gaussian(mu.data<double>().ToArray(), To2D(cov));
    }

    public static double Distance(Gaussian a, Gaussian b)
    {
        if (a.Mean.Length != b.Mean.Length) throw new DiffusionInputException("features", $"dimensions differ: {a.Mean.Length} vs {b.Mean.Length}");
        using var scope = NewDisposeScope();
        var m1 = tensor(a.Mean); var m2 = tensor(b.Mean);
        var s1 = From2D(a.Covariance); var s2 = From2D(b.Covariance);
        var s1h = SqrtPsd(s1);
        var inner = s1h.matmul(s2).matmul(s1h);
        inner = (inner + inner.t()) / 2; // symmetric up to round-off
        var eig = linalg.eigvalsh(inner).clamp_min(0).sqrt().sum();
        double d = (m1 - m2).pow(2).sum().item<double>() + s1.trace().item<double>() + s2.trace().item<double>() - 2 * eig.item<double>();
        return Math.Max(0, d);
    }

    public static double Distance(Tensor featuresA, Tensor featuresB) => Distance(Fit(featuresA), Fit(featuresB));

    private static Tensor SqrtPsd(Tensor s)
    {
        using var scope = NewDisposeScope();
        var (w, v) = linalg.eigh((s + s.t()) / 2);
        return v.matmul(diag(w.clamp_min(0).sqrt())).matmul(v.t()).MoveToOuterDisposeScope();
    }

    private static double[,] To2D(Tensor m)
    {
        int d = (int)m.shape[0];
        var flat = m.contiguous().data<double>().ToArray();
        var r = new double[d, d];
        Buffer.BlockCopy(flat, 0, r, 0, flat.Length * sizeof(double));
        return r;
    }

    private static Tensor From2D(double[,] m)
    {
        int d = m.GetLength(0);
        var flat = new double[d * d];
        Buffer.BlockCopy(m, 0, flat, 0, flat.Length * sizeof(double));
        return tensor(flat, [d, d]);
    }
}
