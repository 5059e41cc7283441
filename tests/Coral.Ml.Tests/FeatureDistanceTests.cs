using Coral.Ml.Classification;
using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Ml.Tests;

/// <summary>The out-of-domain score: squared Mahalanobis distance to the nearest class mean, in every runtime.</summary>
public class FeatureDistanceTests
{
    /// <summary>Correlated 2-class features in 5 dimensions, with one dead unit (always 0, as after a ReLU).</summary>
    private static (float[] Features, int[] Labels) Correlated(int n, int seed)
    {
        var rng = new Random(seed);
        var f = new float[n * 5];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 2;
            double a = Gauss(rng), b = Gauss(rng), c = Gauss(rng);
            f[i * 5 + 0] = (float)(3 * labels[i] + a);
            f[i * 5 + 1] = (float)(a + 0.5 * b);
            f[i * 5 + 2] = (float)(2 * c - b);
            f[i * 5 + 3] = (float)(0.1 * a + c);
            f[i * 5 + 4] = 0;
        }
        return (f, labels);
    }

    private static double Gauss(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    [Fact]
    public void The_score_is_the_squared_mahalanobis_distance_to_the_nearest_class_mean()
    {
        TorchRuntime.EnsureLoaded();
        var (f, labels) = Correlated(400, 1);
        var fd = FeatureDistance.Fit(f, labels, 2, 5);
        var (probe, _) = Correlated(50, 2);
        var scores = fd.Score(probe);

        // Reference: explicit means, pooled covariance (+ the same ridge), its inverse in float64.
        using var scope = NewDisposeScope();
        var x = tensor(f, [400, 5]).to(ScalarType.Float64);
        var y = tensor(labels.Select(l => (long)l).ToArray());
        var means = stack([x[y == 0].mean([0]), x[y == 1].mean([0])]);
        var centred = x - means.index_select(0, y);
        var cov = centred.t().matmul(centred) / (400 - 2);
        cov += eye(5, dtype: ScalarType.Float64) * (FeatureDistance.Shrinkage * cov.diagonal().mean().item<double>());
        var precision = linalg.inv(cov);
        var p = tensor(probe, [50, 5]).to(ScalarType.Float64);
        var d = p.unsqueeze(1) - means.unsqueeze(0);                          // [50, 2, 5]
        var expected = einsum("nkd,de,nke->nk", d, precision, d).amin(1).data<double>().ToArray();
        for (int i = 0; i < 50; i++) scores[i].Should().BeApproximately((float)expected[i], (float)(1e-4 * Math.Max(1, expected[i])), $"probe {i}");

        // A point on a class mean is at distance 0; one far along the data's thin direction is far.
        fd.Score([.. fd.Means.Take(5)])[0].Should().BeApproximately(0, 1e-4f);
    }

    [Fact]
    public void Torch_gives_the_same_scores_and_a_bundle_keeps_its_model_through_save_and_load()
    {
        using var bundle = TestBundles.Random(members: 2);
        var images = TestBundles.Images(300);
        var domainFeatures = Evaluation.BatchInference.DomainFeatures(bundle, images);
        var fd = FeatureDistance.Fit(domainFeatures, images.Labels, bundle.NumClasses, bundle.Config.DomainFeatureDim);
        using var withDomain = new ClassifierBundle(bundle.Config, bundle.ClassNames, bundle.Members, bundle.Head, bundle.Calibration, bundle.Card) { Domain = fd };
        LongtailSignals.Available(withDomain).Should().Contain(SignalKind.FeatureDistance);
        LongtailSignals.Available(bundle).Should().NotContain(SignalKind.FeatureDistance, "a bundle from before the mark has none");
        var viaTorch = Evaluation.BatchInference.Run(withDomain, images).Signals[SignalKind.FeatureDistance];
        var managed = fd.Score(domainFeatures);
        viaTorch.Zip(managed).Should().OnlyContain(p => Math.Abs(p.First - p.Second) <= 1e-3 * Math.Max(1, Math.Abs(p.Second)));

        string dir = TestBundles.TempDir();
        withDomain.Save(dir);
        using var loaded = ClassifierBundle.Load(dir);
        loaded.Domain.Should().NotBeNull();
        loaded.Domain!.Means.Should().Equal(fd.Means);
        loaded.Domain.Whiten.Should().Equal(fd.Whiten);

        // The domain features end with the penultimate features the classifier reads.
        var r = Evaluation.BatchInference.Run(bundle, images, keepFeatures: true);
        int dim = bundle.Config.DomainFeatureDim, f = bundle.Config.FeatureDim;
        for (int i = 0; i < 5; i++)
            domainFeatures.AsSpan(i * dim + dim - f, f).ToArray().Should().Equal(r.Features!.AsSpan(i * f, f).ToArray());
    }
}
