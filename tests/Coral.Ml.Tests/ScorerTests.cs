using Coral.Imaging;
using Coral.Ml.Classification;
using Coral.Ml.Scoring;
using Coral.Ml.Signals;

namespace Coral.Ml.Tests;

public class ScorerTests
{
    private static List<ImageTensor> Images(int n, int offset = 0)
    {
        var data = TestBundles.Images(n, offset);
        return Enumerable.Range(0, n).Select(i => new ImageTensor(data.Image(i).ToArray().Select(b => b / 255f).ToArray(), 1, 28, 28)).ToList();
    }

    [Fact]
    public void Results_carry_prediction_every_signal_and_the_calibrated_flag()
    {
        using var bundle = TestBundles.Random();
        var scorer = new ImageScorer(bundle, new ScorerOptions { BatchSize = 4 });
        var results = scorer.Score(Images(10));
        results.Should().HaveCount(10);
        foreach (var r in results)
        {
            r.Probabilities.Should().HaveCount(10);
            r.Probabilities.Sum().Should().BeApproximately(1, 1e-4f);
            r.PredictedClass.Should().Be(r.Probabilities.ToList().IndexOf(r.Probabilities.Max()));
            r.PredictedName.Should().Be($"class{r.PredictedClass}");
            r.Signals.Keys.Should().BeEquivalentTo(["mutual-information", "entropy", "energy", "epistemic-head"]);
            r.FlagSignal.Should().Be("epistemic-head");
            r.Threshold.Should().Be(0.5);
            r.Flagged.Should().Be(r.Signals["epistemic-head"] > 0.5);
            r.Note.Should().BeNull();
        }
        results[3].Source.Should().Be("image[3]");
    }

    [Fact]
    public void Batch_size_does_not_change_the_scores_and_signals_match_the_differentiable_ones()
    {
        using var bundle = TestBundles.Random();
        // Two full compute slices and a partial one: results must land at the right index across slices.
        int n = 2 * ImageScorer.ComputeSlice + 22;
        var images = Images(n);
        var one = new ImageScorer(bundle, new ScorerOptions { BatchSize = 1 }).Score(images);
        var many = new ImageScorer(bundle, new ScorerOptions { BatchSize = 256 }).Score(images);
        using var scope = TorchSharp.torch.NewDisposeScope();
        var x = SignalGradientTests.ImagesOf(7);
        var mi = LongtailSignals.Create(SignalKind.MutualInformation, bundle).Compute(x).data<float>().ToArray();
        for (int i = 0; i < n; i++)
        {
            one[i].PredictedClass.Should().Be(many[i].PredictedClass);
            one[i].Probabilities.Should().Equal(many[i].Probabilities, (a, b) => Math.Abs(a - b) < 1e-5);
            foreach (var k in one[i].Signals.Keys) one[i].Signals[k].Should().BeApproximately(many[i].Signals[k], 1e-5);
            if (i < 7) many[i].Signals["mutual-information"].Should().BeApproximately(mi[i], 1e-5);
        }
    }

    [Fact]
    public void Wrong_size_is_refused_with_the_image_name_or_resized_with_a_note()
    {
        using var bundle = TestBundles.Random();
        var rgb32 = new ImageTensor(Enumerable.Range(0, 3 * 32 * 32).Select(i => (i % 97) / 97f).ToArray(), 3, 32, 32);
        var images = new List<ImageTensor> { Images(1)[0], rgb32 };
        var refuse = new ImageScorer(bundle);
        FluentActions.Invoking(() => refuse.Score(images, ["a.png", "photo.jpg"]))
            .Should().Throw<ImageShapeMismatchException>().WithMessage("photo.jpg: image is 3x32x32*1x28x28*");
        var resize = new ImageScorer(bundle, new ScorerOptions { WrongSize = WrongSizePolicy.Resize });
        var r = resize.Score(images, ["a.png", "photo.jpg"]);
        r[0].Note.Should().BeNull();
        r[1].Note.Should().Be("converted 3x32x32 to 1x28x28");
        r[1].Source.Should().Be("photo.jpg");
        r[1].Signals.Values.Should().OnlyContain(v => double.IsFinite(v));
    }

    [Fact]
    public void Without_the_ensemble_one_pass_gives_the_same_prediction_and_head()
    {
        using var bundle = TestBundles.Random();
        var images = Images(5);
        var all = new ImageScorer(bundle).Score(images);
        var fast = new ImageScorer(bundle, new ScorerOptions { IncludeEnsemble = false }).Score(images);
        for (int i = 0; i < 5; i++)
        {
            fast[i].Signals.Should().NotContainKey("mutual-information");
            fast[i].PredictedClass.Should().Be(all[i].PredictedClass);
            fast[i].Signals["epistemic-head"].Should().Be(all[i].Signals["epistemic-head"]);
            fast[i].Flagged.Should().Be(all[i].Flagged);
        }
    }
}
