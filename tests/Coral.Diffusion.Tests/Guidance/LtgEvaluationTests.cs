using Coral.Diffusion.Guidance;
using Coral.Ml.Classification;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests.Guidance;

/// <summary>`coral eval ltg`'s experiments run from the library: the sweep on tiny random models.</summary>
public class LtgEvaluationTests
{
    [Fact]
    public void The_sweep_generates_every_class_at_every_weight_and_writes_its_plot_and_grids()
    {
        using var diffusion = TinyModels.Diffusion();
        using var guide = WithTail(TinyModels.Classifier());
        var gen = new LongtailGenerator(diffusion, guide);
        var dir = Directory.CreateTempSubdirectory("coral-eval-ltg-").FullName;
        var lines = new List<string>();
        int requests = 0;

        var report = LtgEvaluation.Run(gen, guide, judge: null, new LtgEvaluationOptions
        {
            Ltg = new LtgOptions { Weight = 0.5, Steps = 4, Oversample = 1 },
            Weights = [0, 0.5],
            Classes = [2],
            Sweep = true, Consistency = false, Retraining = false,
            ImagesPerClass = 2,
            FineTune = new FineTuning.Options(1, 8, 1e-3, 0, false),
            Data = new Coral.Data.DataOptions { Path = "unused-without-sources" }, OutputDirectory = dir, Resolution = diffusion.Resolution,
        }, (request, _) => { requests++; return gen.Generate(request); }, lines.Add, default);

        requests.Should().Be(2, "one request per class per weight");
        report["tailClasses"].Should().BeEquivalentTo(new[] { "c" });
        report.Should().ContainKeys("sweep", "sweepMonotonic", "finishedUtc");
        File.Exists(Path.Combine(dir, "ltg-sweep.png")).Should().BeTrue();
        Directory.GetFiles(dir, "samples-w*.png").Should().HaveCount(2);
        lines.Should().Contain(l => l.StartsWith("(a) mean signal", StringComparison.Ordinal));
    }

    private static ClassifierBundle WithTail(ClassifierBundle b) =>
        new(b.Config, b.ClassNames, b.Members, b.Head, b.Calibration, new ModelCard { Groups = ["Head", "Head", "Tail"] });
}
