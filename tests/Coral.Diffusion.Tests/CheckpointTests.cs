using Coral.Diffusion.Networks;
using Coral.Diffusion.Sampling;
using Coral.Diffusion.Schedule;
using Coral.Diffusion.Training;
using Coral.Testing;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests;

public class CheckpointTests
{
    private static float[] Flat(nn.Module m) => [.. m.parameters().SelectMany(p => p.detach().contiguous().data<float>().ToArray())];

    [Fact]
    public void Killed_and_resumed_training_ends_where_an_uninterrupted_run_ends()
    {
        var (x, y) = TestNets.Data();
        using var _ = x;
        string straight = Directory.CreateTempSubdirectory("coral-straight-").FullName;
        string resumed = Directory.CreateTempSubdirectory("coral-resumed-").FullName;
        var opts = TestNets.TinyOptions(coral: true, steps: 4);

        float[] expected;
        using (var t = new DiffusionTrainer(opts, x, y, straight)) { t.Run(); expected = Flat(t.Ema); }

        // "Kill" after the step-2 checkpoint: a trainer that stops at 2, then a fresh process-like trainer resumes.
        using (var t = new DiffusionTrainer(opts with { Steps = 2 }, x, y, resumed)) t.Run();
        Directory.Exists(Path.Combine(resumed, DiffusionTrainer.CheckpointDir)).Should().BeTrue();
        using (var t = new DiffusionTrainer(opts, x, y, resumed))
        {
            t.Step.Should().Be(2);
            var state = t.Run();
            state.Step.Should().Be(4);
            Flat(t.Ema).Should().Equal(expected);
        }
    }

    [Fact]
    public void Resume_with_different_options_is_refused()
    {
        var (x, y) = TestNets.Data();
        using var _ = x;
        string dir = Directory.CreateTempSubdirectory("coral-mismatch-").FullName;
        using (var t = new DiffusionTrainer(TestNets.TinyOptions(coral: false, steps: 2), x, y, dir)) t.Run();
        var act = () => new DiffusionTrainer(TestNets.TinyOptions(coral: true, steps: 2), x, y, dir);
        act.Should().Throw<DiffusionInputException>().Which.Input.Should().Be(dir);
    }

    [Fact]
    public void Resume_with_data_of_another_shape_names_both_shapes()
    {
        var (x, y) = TestNets.Data();
        using var _ = x;
        string dir = Directory.CreateTempSubdirectory("coral-shape-").FullName;
        using (var t = new DiffusionTrainer(TestNets.TinyOptions(coral: false, steps: 2), x, y, dir)) t.Run();
        using var rgb = rand(24, 3, 8, 8) * 2 - 1;
        var opts = TestNets.TinyOptions(coral: false, steps: 2) with { Network = TestNets.Tiny with { ImageChannels = 3 } };
        var act = () => new DiffusionTrainer(opts, rgb, y, dir);
        act.Should().Throw<DiffusionInputException>().Where(e => e.Message.Contains("1x8x8") && e.Message.Contains("3x8x8"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Model_folder_round_trips_and_samples_identically(bool half)
    {
        manual_seed(4);
        using var net = new UNet(TestNets.Tiny);
        string dir = Directory.CreateTempSubdirectory("coral-model-").FullName;
        DiffusionModel.Save(net, new DiffusionModelCard { Name = "tiny", Network = TestNets.Tiny, Timesteps = 50, ClassNames = ["a", "b", "c"] }, dir, half);
        using var loaded = DiffusionModel.Load(dir);
        loaded.Card!.WeightsPrecision.Should().Be(half ? "float16" : "float32");
        var a = Flat(net); var b = Flat(loaded.Network);
        if (half) a.Zip(b).Max(p => Math.Abs(p.First - p.Second)).Should().BeLessThan(2e-3f);
        else b.Should().Equal(a);
        using var original = new DiffusionModel(net, new GaussianDiffusion(BetaSchedule.Linear, 50), ["a", "b", "c"]);
        using var s1 = DdimSampler.Sample(original, [0, 2], 5, 0, 1, 9);
        using var s2 = DdimSampler.Sample(loaded, [0, 2], 5, 0, 1, 9);
        s1.allclose(s2, rtol: 0, atol: half ? 0.05 : 1e-6).Should().BeTrue();
    }

    [Fact]
    public void Truncated_or_foreign_weights_are_typed_errors()
    {
        using var net = new UNet(TestNets.Tiny);
        string dir = Directory.CreateTempSubdirectory("coral-bad-").FullName;
        string path = Path.Combine(dir, "w.bin");
        WeightsFile.Save(net, path, half: true);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..200]);
        var truncated = () => WeightsFile.Load(net, path);
        truncated.Should().Throw<DiffusionInputException>().WithMessage("*truncated*");
        File.WriteAllText(path, "not weights");
        var foreign = () => WeightsFile.Load(net, path);
        foreign.Should().Throw<DiffusionInputException>();
        var missing = () => DiffusionModel.Load(Path.Combine(dir, "nowhere"));
        missing.Should().Throw<DiffusionInputException>();
    }

    [Fact]
    public void Shipped_default_model_loads_and_samples_every_class()
    {
        string dir = Path.Combine(RepoPaths.Root, "models", "diffusion");
        using var model = DiffusionModel.Load(dir);
        model.NumClasses.Should().Be(10);
        model.Card!.Training!.Coral.Enabled.Should().BeTrue("the default model is the CORAL one");
        using var x = DdimSampler.Sample(model, [.. Enumerable.Range(0, 10)], steps: 4, eta: 0, guidanceScale: 1, seed: 0);
        x.shape.Should().Equal(10, 1, model.Resolution, model.Resolution);
        x.isfinite().all().item<bool>().Should().BeTrue();
    }
}
