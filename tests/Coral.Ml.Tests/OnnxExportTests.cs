using Coral.Data;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Export;
using Coral.Ml.Signals;
using Coral.Scoring.Onnx;
using static TorchSharp.torch;

namespace Coral.Ml.Tests;

/// <summary>The exported ONNX graph gives TorchSharp's predictions and signals on real images.</summary>
public class OnnxExportTests
{
    private static void AssertSame(ClassifierBundle bundle, LabeledImages images, string path)
    {
        BundleOnnxExporter.Save(bundle, path, "test");
        using var onnx = OnnxScoringModel.Load(path);
        onnx.ClassNames.Should().Equal(bundle.ClassNames);
        (onnx.Channels, onnx.Height, onnx.Width).Should().Be(bundle.InputShape);
        var tensors = Enumerable.Range(0, images.Count).Select(images.Tensor).ToList();
        var o = onnx.Run(tensors);

        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var x = ImageBatches.Images(images, Enumerable.Range(0, images.Count).ToArray());
        using var outputs = bundle.Forward(x);
        var logits = outputs.Logits.contiguous().data<float>().ToArray();
        o.Logits.Zip(logits).Max(p => Math.Abs(p.First - p.Second)).Should().BeLessThan(1e-4f, "logits");
        ClassificationMath.ArgMax(o.Logits, bundle.NumClasses).Should().Equal(ClassificationMath.ArgMax(logits, bundle.NumClasses), "same prediction for every image");
        foreach (var kind in LongtailSignals.Available(bundle))
        {
            var expected = LongtailSignals.FromOutputs(kind, bundle, outputs).contiguous().data<float>().ToArray();
            // Within 1e-4, relative for signals above 1 (feature distances are in the hundreds).
            o.Signals[LongtailSignals.NameOf(kind)].Zip(expected).Max(p => Math.Abs(p.First - p.Second) / Math.Max(1, Math.Abs(p.Second))).Should().BeLessThan(1e-4f, LongtailSignals.NameOf(kind));
        }
        o.Signals.Keys.Should().BeEquivalentTo(LongtailSignals.Available(bundle).Select(LongtailSignals.NameOf));
    }

    [Fact]
    public void The_shipped_bundle_scores_real_images_the_same_in_onnx_runtime()
    {
        using var bundle = ClassifierBundle.Load(ClassifierBundle.DefaultClassifierPath);
        var test = FashionMnist.Load(FashionMnist.Split.Test);
        var images = test.Subset(Seeding.Permutation(test.Count, 1)[..300]);
        string path = Path.Combine(TestBundles.TempDir(), OnnxNames.FileName);
        AssertSame(bundle, images, path);
        using var onnx = OnnxScoringModel.Load(path);
        onnx.FlagSignal.Should().Be(LongtailSignals.NameOf(bundle.Calibration!.FlagSignal));
        onnx.Thresholds[onnx.FlagSignal!].Should().Be(bundle.Calibration.Threshold(bundle.Calibration.FlagSignal));
        bundle.Domain.Should().NotBeNull("the shipped bundle carries the out-of-domain mark (coral calibrate)");
        onnx.OutOfDomainThreshold.Should().Be(bundle.Calibration.OutOfDomainThreshold);
    }

    [Fact]
    public void The_shipped_scorer_onnx_was_exported_from_the_shipped_checkpoint()
    {
        string dir = ClassifierBundle.ResolveModelPath(ClassifierBundle.DefaultClassifierPath);
        using var onnx = OnnxScoringModel.Load(Path.Combine(dir, OnnxNames.FileName));
        onnx.Version.Should().Be(ClassifierBundle.VersionOf(dir), "re-export with `coral export onnx` after retraining");
    }

    [Fact]
    public void An_rgb_bundle_of_another_size_and_odd_pooled_size_exports_too()
    {
        // 3×28×20: after two pools 7×5, both odd, so the adaptive 2×2 pool needs its overlapping windows.
        using var bundle = TestBundles.Random(members: 3, config: new CnnConfig(3, 28, 20, 4, Conv1: 4, Conv2: 8, FeatureDim: 16));
        Seeding.Set(3);
        var px = new byte[40 * 3 * 28 * 20];
        new Random(5).NextBytes(px);
        var images = new LabeledImages(px, [.. Enumerable.Range(0, 40).Select(i => i % 4)], 3, 28, 20, ["a", "b", "c", "d"]);
        AssertSame(bundle, images, Path.Combine(TestBundles.TempDir(), OnnxNames.FileName));
    }

    [Fact]
    public void A_missing_or_foreign_file_is_a_typed_error_naming_it()
    {
        string dir = TestBundles.TempDir();
        var missing = () => OnnxScoringModel.Load(Path.Combine(dir, "absent.onnx"));
        missing.Should().Throw<OnnxModelException>().WithMessage("*absent.onnx: ONNX model not found");
        File.WriteAllBytes(Path.Combine(dir, "junk.onnx"), [1, 2, 3]);
        var junk = () => OnnxScoringModel.Load(Path.Combine(dir, "junk.onnx"));
        junk.Should().Throw<OnnxModelException>().WithMessage("*junk.onnx: not a loadable ONNX model*");
    }
}
