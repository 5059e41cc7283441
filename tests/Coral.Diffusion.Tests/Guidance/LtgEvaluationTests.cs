using Coral.Data;
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

    [Fact]
    public void The_verdict_reads_the_three_targets_from_the_report_and_says_missed_when_one_misses()
    {
        var report = System.Text.Json.Nodes.JsonNode.Parse("""
            {"retraining": {"ltgMinusBestControl": {"versus": "oversample", "mean": 0.031, "ci95": [0.01, 0.05], "perSeed": [0.03, 0.02, 0.04]}},
             "consistency": {"weight": 0.1, "judgeArgmax": 0.85, "judgeArgmaxCi95": [0.77, 0.91], "unguidedJudgeArgmax": 0.97,
                             "heldOut": {"signal": "mutual-information", "riseSd": 1.2, "riseSdCi95": [1.0, 1.4]}}}
            """)!;
        var v = LtgVerdict.FromReport(report);
        v["ltgMinusBestControlTailPp"]!.GetValue<double>().Should().BeApproximately(3.1, 1e-9);
        v["bestControl"]!.GetValue<string>().Should().Be("oversample");
        v["ltgArm"]!.GetValue<string>().Should().Be("ltg", "a report without verdictArm compared the plain LTG arm");
        v["retrainSeeds"]!.GetValue<int>().Should().Be(3);
        v["tailTargetMet"]!.GetValue<bool>().Should().BeTrue();
        v["heldOutSignalRiseSd"]!.GetValue<double>().Should().Be(1.2);
        v["heldOutTargetMet"]!.GetValue<bool>().Should().BeTrue();
        v["judgeConsistency"]!.GetValue<double>().Should().Be(0.85);
        v["judgeTargetMet"]!.GetValue<bool>().Should().BeFalse();
        v["status"]!.GetValue<string>().Should().Be("missed", "judge consistency 85 % is below 90 %");
        LtgVerdict.FromReport(System.Text.Json.Nodes.JsonNode.Parse("{}")!)["status"]!.GetValue<string>().Should().Be("incomplete");
        report["retraining"]!["verdictArm"] = "ltg+la";
        LtgVerdict.FromReport(report)["ltgArm"]!.GetValue<string>().Should().Be("ltg+la");
    }

    [Fact]
    public void Logit_adjusted_twins_follow_the_seven_arms_and_only_when_asked_for()
    {
        LtgEvaluationOptions With(bool twins) => new()
        {
            Ltg = new LtgOptions(), Weights = [0.1], Classes = [0], FineTune = new FineTuning.Options(1, 8, 1e-3, 0), Data = new DataOptions(),
            OutputDirectory = "unused", Resolution = 8, RetrainLogitAdjustedTwins = twins,
        };
        LtgEvaluation.ArmsOf(With(false)).Select(a => a.Name).Should().Equal(LtgEvaluation.Arms.Select(a => a.Name));
        LtgEvaluation.ArmsOf(With(true)).Select(a => a.Name).Should().Equal(
            [.. LtgEvaluation.Arms.Select(a => a.Name), "oversample+la", "augment+la", "unguided+la", "ltg+la"]);
    }

    [Fact]
    public void Retrain_arms_pick_a_subset_in_table_order_with_their_twins_and_name_an_unknown_arm()
    {
        LtgEvaluationOptions With(params string[] arms) => new()
        {
            Ltg = new LtgOptions(), Weights = [0.1], Classes = [0], FineTune = new FineTuning.Options(1, 8, 1e-3, 0), Data = new DataOptions(),
            OutputDirectory = "unused", Resolution = 8, RetrainLogitAdjustedTwins = true, RetrainArms = arms,
        };
        LtgEvaluation.ArmsOf(With("fresh-real", "none", "oversample")).Select(a => a.Name).Should().Equal("none", "oversample", "fresh-real", "oversample+la", "fresh-real+la");
        LtgEvaluation.ArmsOf(With("none", "logit-adjust")).Select(a => a.Name).Should().Equal("none", "logit-adjust");
        var bad = () => LtgEvaluation.ArmsOf(With("none", "ltg+la"));
        bad.Should().Throw<DiffusionInputException>().Which.Message.Should().Contain("--retrain-arms").And.Contain("'ltg+la'").And.Contain("--retrain-la-twins");
        ((Action)(() => LtgEvaluation.ArmsOf(With()))).Should().Throw<DiffusionInputException>().Which.Message.Should().Contain("lists no arm");
    }

    private static ClassifierBundle WithTail(ClassifierBundle b) =>
        new(b.Config, b.ClassNames, b.Members, b.Head, b.Calibration, new ModelCard { Groups = ["Head", "Head", "Tail"] });
}
