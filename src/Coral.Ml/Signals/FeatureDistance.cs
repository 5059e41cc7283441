namespace Coral.Ml.Signals;

/// <summary>
/// Distance of an image from the training data in the deployed classifier's feature space (Lee et al. 2018): class
/// means and one shared covariance of the penultimate features of the training images; the score is the smallest
/// squared Mahalanobis distance to any class mean. Energy cannot tell noise from clothing here (a ReLU network is
/// confident far from its data, Hein et al. 2019); distance in feature space can. Stored as the class means and a
/// whitening matrix W with Wᵀ W = Σ⁻¹, so d²_k(f) = ‖W (f − μ_k)‖², which the ONNX graph computes with two MatMuls.
/// </summary>
public sealed class FeatureDistance
{
    /// <summary>Added to the covariance's diagonal, relative to its mean variance: dead ReLU units have none.</summary>
    public const double Shrinkage = 1e-3;

    public FeatureDistance(int classes, int dim, float[] means, float[] whiten)
    {
        if (means.Length != classes * dim) throw new ArgumentException($"{means.Length} mean values for {classes}x{dim}", nameof(means));
        if (whiten.Length != dim * dim) throw new ArgumentException($"{whiten.Length} whitening values for {dim}x{dim}", nameof(whiten));
        Classes = classes; Dim = dim; Means = means; Whiten = whiten;
    }

    public int Classes { get; }
    public int Dim { get; }
    /// <summary>Class means [K, D], row-major.</summary>
    public float[] Means { get; }
    /// <summary>W [D, D], row-major, with Wᵀ W = (Σ + εI)⁻¹.</summary>
    public float[] Whiten { get; }

    /// <summary>Fits means and the shared covariance on features [N, D] of labelled images; a class without images gets no mean and is skipped by keeping it infinitely far.</summary>
    public static FeatureDistance Fit(float[] features, IReadOnlyList<int> labels, int classes, int dim)
    {
        int n = labels.Count;
        if (features.Length != n * dim) throw new ArgumentException($"{features.Length} feature values for {n} images of {dim}", nameof(features));
        var sum = new double[classes * dim];
        var count = new int[classes];
        for (int i = 0; i < n; i++)
        {
            count[labels[i]]++;
            for (int d = 0; d < dim; d++) sum[labels[i] * dim + d] += features[i * dim + d];
        }
        var means = new double[classes * dim];
        for (int k = 0; k < classes; k++)
            for (int d = 0; d < dim; d++) means[k * dim + d] = count[k] == 0 ? 1e6 : sum[k * dim + d] / count[k];
        var cov = new double[dim * dim];
        var centred = new double[dim];
        for (int i = 0; i < n; i++)
        {
            int k = labels[i];
            for (int d = 0; d < dim; d++) centred[d] = features[i * dim + d] - means[k * dim + d];
            for (int a = 0; a < dim; a++)
            {
                double ca = centred[a];
                if (ca == 0) continue;
                for (int b = a; b < dim; b++) cov[a * dim + b] += ca * centred[b];
            }
        }
        double trace = 0;
        for (int a = 0; a < dim; a++)
            for (int b = a; b < dim; b++)
            {
                cov[a * dim + b] /= Math.Max(1, n - classes);
                cov[b * dim + a] = cov[a * dim + b];
                if (a == b) trace += cov[a * dim + a];
            }
        double ridge = Shrinkage * Math.Max(trace / dim, 1e-12);
        for (int a = 0; a < dim; a++) cov[a * dim + a] += ridge;
        // Σ = L Lᵀ  ⇒  Σ⁻¹ = L⁻ᵀ L⁻¹, so W = L⁻¹ (lower triangular) gives ‖W x‖² = xᵀ Σ⁻¹ x.
        var l = Cholesky(cov, dim);
        var w = InvertLower(l, dim);
        return new FeatureDistance(classes, dim, [.. means.Select(v => (float)v)], [.. w.Select(v => (float)v)]);
    }

    /// <summary>min_k ‖W (f − μ_k)‖² for features [N, D] → [N].</summary>
    public float[] Score(float[] features)
    {
        int n = features.Length / Dim;
        var result = new float[n];
        var wf = new double[Dim];
        var wm = WhitenedMeans();
        for (int i = 0; i < n; i++)
        {
            for (int r = 0; r < Dim; r++)
            {
                double s = 0;
                for (int c = 0; c <= r; c++) s += Whiten[r * Dim + c] * features[i * Dim + c];
                wf[r] = s;
            }
            double best = double.PositiveInfinity;
            for (int k = 0; k < Classes; k++)
            {
                double d2 = 0;
                for (int r = 0; r < Dim; r++) { double e = wf[r] - wm[k * Dim + r]; d2 += e * e; }
                best = Math.Min(best, d2);
            }
            result[i] = (float)best;
        }
        return result;
    }

    /// <summary>W μ_k for every class [K, D]: the graph subtracts these from W f.</summary>
    public float[] WhitenedMeans()
    {
        var wm = new float[Classes * Dim];
        for (int k = 0; k < Classes; k++)
            for (int r = 0; r < Dim; r++)
            {
                double s = 0;
                for (int c = 0; c <= r; c++) s += Whiten[r * Dim + c] * Means[k * Dim + c];
                wm[k * Dim + r] = (float)s;
            }
        return wm;
    }

    private static double[] Cholesky(double[] a, int n)
    {
        var l = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = a[i * n + j];
                for (int k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
                if (i == j)
                {
                    if (s <= 0) throw new InvalidOperationException("feature covariance is not positive definite");
                    l[i * n + i] = Math.Sqrt(s);
                }
                else l[i * n + j] = s / l[j * n + j];
            }
        return l;
    }

    private static double[] InvertLower(double[] l, int n)
    {
        var inv = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            inv[i * n + i] = 1 / l[i * n + i];
            for (int j = 0; j < i; j++)
            {
                double s = 0;
                for (int k = j; k < i; k++) s -= l[i * n + k] * inv[k * n + j];
                inv[i * n + j] = s / l[i * n + i];
            }
        }
        return inv;
    }
}
