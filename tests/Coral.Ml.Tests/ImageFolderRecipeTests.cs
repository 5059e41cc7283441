using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Testing;

namespace Coral.Ml.Tests;

/// <summary>The classifier recipe on a user's own images: an RGB folder at 20 px with its own classes, already long-tailed.</summary>
public class ImageFolderRecipeTests
{
    private static readonly Lazy<string> Folder = new(() => LongTailedImageFolder.Write(TestBundles.TempDir()));

    private static RecipeOptions Quick(string data) => new()
    {
        Data = new DataOptions { Path = data }, Members = 2, Seed = 3,
        Train = new TrainOptions { Epochs = 3, BatchSize = 32, LearningRate = 5e-3 },
        Head = new Signals.EpistemicHeadTrainer.Options { Epochs = 20 },
    };

    [Fact]
    public void A_long_tailed_rgb_folder_trains_a_bundle_that_can_flag_with_its_own_shape_and_names()
    {
        using var bundle = ClassifierRecipe.Train(Quick(Folder.Value));
        bundle.InputShape.Should().Be((3, 20, 20));
        bundle.ClassNames.Should().Equal("dusk", "ember", "moss", "tide");   // class folders in ordinal order
        bundle.Head.Should().NotBeNull("a bundle that cannot flag is never written");
        bundle.Calibration.Should().NotBeNull();
        bundle.Card.Imbalance.Should().Be(1, "a folder is taken as it is");
        bundle.Card.InputShape.Should().Be("3x20x20");
        bundle.Card.Dataset.Should().Contain("image folder").And.NotContain("Fashion-MNIST");
        bundle.Card.Calibration!.ReferenceSet.Should().Contain("held-out training images");
        bundle.Domain.Should().NotBeNull("every bundle trained now carries the out-of-domain mark");
        bundle.Calibration!.OutOfDomainThreshold.Should().BeGreaterThan(bundle.Calibration.Threshold(Signals.SignalKind.FeatureDistance), "99.5 % quantile above the 95 % one");
        bundle.Card.Calibration.OutOfDomainThreshold.Should().Be(bundle.Calibration.OutOfDomainThreshold);
        // Test split made by the tool: 20 % of each class; the members never saw it.
        int testCount = LongTailedImageFolder.Counts.Sum(n => (int)Math.Ceiling(0.2 * n));
        bundle.Card.TrainCountsPerClass.Sum().Should().BeLessThan(LongTailedImageFolder.Counts.Sum() - testCount);
        bundle.Card.TestAccuracy.Should().BeGreaterThan(0.6, "coloured blobs are easy; chance is 0.25");
        bundle.Card.Groups.Should().Equal("Tail", "Head", "Middle", "Middle");   // dusk has the fewest images
    }

    [Fact]
    public void A_bundle_that_could_not_flag_is_refused_with_one_clear_error()
    {
        var one = () => ClassifierRecipe.Train(Quick(Folder.Value) with { Members = 1 });
        one.Should().Throw<RecipeInputException>().Which.Message.Should().StartWith("--members:");
        string tiny = LongTailedImageFolder.Write(TestBundles.TempDir(), scale: 0.1);
        var few = () => ClassifierRecipe.Train(Quick(tiny));
        few.Should().Throw<RecipeInputException>().Which.Message.Should().Contain("flag calibration").And.Contain("need 40");
    }
}
