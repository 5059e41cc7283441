using System.Text.Json.Nodes;
using Coral.Ml.Classification;
using Coral.Ml.Common;
using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Ml.Tests;

public class CheckpointTests
{
    [Fact]
    public void Bundle_round_trip_gives_bit_identical_outputs_card_and_calibration()
    {
        string dir = TestBundles.TempDir();
        using var bundle = TestBundles.Random(members: 3, seed: 4);
        bundle.Save(dir);
        File.Exists(Path.Combine(dir, ClassifierBundle.FileName)).Should().BeTrue();
        File.Exists(Path.Combine(dir, ClassifierBundle.CardFileName)).Should().BeTrue();
        Directory.GetFiles(dir, "*.tmp").Should().BeEmpty();
        using var loaded = ClassifierBundle.Load(dir);
        using var scope = NewDisposeScope();
        var x = SignalGradientTests.ImagesOf(5);
        using (inference_mode())
        {
            loaded.MemberLogits(x).equal(bundle.MemberLogits(x)).all().item<bool>().Should().BeTrue();
            using var a = loaded.Forward(x); using var b = bundle.Forward(x);
            loaded.HeadScore(a.Features, a.Logits).equal(bundle.HeadScore(b.Features, b.Logits)).all().item<bool>().Should().BeTrue();
        }
        loaded.Config.Should().Be(bundle.Config);
        loaded.ClassNames.Should().Equal(bundle.ClassNames);
        loaded.Calibration!.Thresholds.Should().BeEquivalentTo(bundle.Calibration!.Thresholds);
        loaded.Calibration.FlagSignal.Should().Be(SignalKind.EpistemicHead);
        loaded.Card.Seed.Should().Be(4);
        loaded.InputShape.Should().Be((1, 28, 28));
    }

    [Fact]
    public void Flipped_byte_truncation_garbage_and_missing_file_are_corrupt_checkpoint_errors_naming_the_file()
    {
        string dir = TestBundles.TempDir();
        using (var bundle = TestBundles.Random()) bundle.Save(dir);
        string file = Path.Combine(dir, ClassifierBundle.FileName);
        var good = File.ReadAllBytes(file);

        var flipped = (byte[])good.Clone();
        flipped[good.Length / 2] ^= 0x40;
        ExpectCorrupt(flipped, "*checksum*");
        ExpectCorrupt(good[..(good.Length - 100)], "*checksum*");
        ExpectCorrupt(good[..10], "*not a Coral checkpoint*");
        ExpectCorrupt(System.Text.Encoding.ASCII.GetBytes("PK\u0003\u0004 this is a zip, not a model"), "*not a Coral checkpoint*");
        ExpectCorrupt([], "*not a Coral checkpoint*");

        string missing = Path.Combine(dir, "nope", "bundle.ckpt");
        FluentActions.Invoking(() => ClassifierBundle.Load(missing)).Should().Throw<CheckpointCorruptException>()
            .Which.Message.Should().Contain(missing);

        void ExpectCorrupt(byte[] bytes, string pattern)
        {
            string bad = Path.Combine(dir, $"bad-{Guid.NewGuid():N}.ckpt");
            File.WriteAllBytes(bad, bytes);
            var e = FluentActions.Invoking(() => ClassifierBundle.Load(bad)).Should().Throw<CheckpointCorruptException>().Which;
            e.Message.Should().StartWith(bad).And.Match(pattern);
            e.Path.Should().Be(bad);
        }
    }

    [Fact]
    public void Other_architecture_or_kind_is_a_mismatch_error_naming_the_file()
    {
        string dir = TestBundles.TempDir();
        using (var bundle = TestBundles.Random()) bundle.Save(dir);
        var contents = TensorFile.Load(Path.Combine(dir, ClassifierBundle.FileName));
        var tensors = contents.Tensors.Select(kv => (kv.Key, tensor(kv.Value.Data, kv.Value.Shape))).ToList();

        // Header says 8→16 channels, weights are 4→8: intact file, wrong architecture.
        var meta = (JsonObject)contents.Meta.DeepClone();
        meta["config"] = Json.ToObject(TestBundles.Tiny with { Conv1 = 8, Conv2 = 16 });
        string wrongShape = Path.Combine(dir, "wrong-shape.ckpt");
        TensorFile.Save(wrongShape, meta, tensors);
        FluentActions.Invoking(() => ClassifierBundle.Load(wrongShape)).Should().Throw<CheckpointMismatchException>()
            .Which.Message.Should().StartWith(wrongShape).And.Contain("shape");

        // Header claims 4 members, file holds 3.
        meta = (JsonObject)contents.Meta.DeepClone();
        meta["members"] = 4;
        string fewer = Path.Combine(dir, "fewer.ckpt");
        TensorFile.Save(fewer, meta, tensors);
        FluentActions.Invoking(() => ClassifierBundle.Load(fewer)).Should().Throw<CheckpointMismatchException>()
            .Which.Message.Should().Contain("member3.");

        // A valid checkpoint of something else (a per-epoch training checkpoint) is not a bundle.
        string other = Path.Combine(dir, "other.ckpt");
        TensorFile.Save(other, new JsonObject { ["epoch"] = 1 }, tensors);
        FluentActions.Invoking(() => ClassifierBundle.Load(other)).Should().Throw<CheckpointMismatchException>()
            .Which.Message.Should().StartWith(other).And.Contain("format");
        foreach (var (_, t) in tensors) t.Dispose();
    }
}
