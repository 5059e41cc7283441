using Coral.Diffusion.Guidance;
using Coral.Ml.Signals;
using static TorchSharp.torch;

namespace Coral.Diffusion.Tests.Guidance;

/// <summary>Over-generate, filter by the guide ensemble, keep the top N by the guiding signal; every candidate's record says why.</summary>
public class OversampleTests
{
    private static LtgOptions Fast(double w, int oversample, double threshold) => new()
    {
        Weight = w, Steps = 4, BatchSize = 4, CfgScale = 0, Signal = SignalKind.EpistemicHead, Oversample = oversample, ConsistencyThreshold = threshold,
        Filter = CandidateFilter.GuideEnsemble,
    };

    [Fact]
    public void The_diffusion_models_own_verdict_filters_by_default_and_names_the_class_it_saw()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var o = Fast(0.5, 3, 0) with { Filter = new LtgOptions().Filter, MarginQuantile = 0.5, MarginCalibration = 8 };
        o.Filter.Should().Be(CandidateFilter.DiffusionModel);
        var batch = gen.Generate(new LtgRequest { ClassIndex = 1, Count = 2, Options = o, Seed = 5 });

        double threshold = gen.MarginThreshold(1, o)!.Value;
        batch.Candidates.Should().HaveCount(6).And.OnlyContain(c => c.ConsistencyBy == "diffusion-model" && c.DiffusionClass != null && c.DiffusionMarginThreshold == threshold);
        batch.Candidates.Should().OnlyContain(c => c.Consistent == (c.DiffusionClass == 1 && c.DiffusionMargin >= threshold),
            "in class = the implicit classifier's argmax is the target, by at least the class's calibrated margin");
        foreach (var c in batch.Candidates.Where(c => !c.Consistent))
            c.Reason.Should().Be(c.DiffusionClass == 1
                ? $"dropped: the diffusion model places it in {gen.ClassNames[1]} by a margin of {c.DiffusionMargin:G3}, below the class's {threshold:G3} (quantile 0.5 of 8 unguided samples)"
                : $"dropped: the diffusion model places it in {gen.ClassNames[c.DiffusionClass!.Value]} (margin {c.DiffusionMargin:G3})");
        // In-class candidates first by signal; only if fewer than 2 pass, the closest misses top the batch up, marked.
        var inClass = batch.Candidates.Where(c => c.Consistent).OrderByDescending(c => c.SignalAfter).Select(c => c.Index).ToList();
        var misses = batch.Candidates.Where(c => !c.Consistent).OrderByDescending(c => c.DiffusionMargin).Select(c => c.Index);
        batch.Records.Select(r => r.Index).Should().Equal(inClass.Concat(misses).Take(2));
        foreach (var r in batch.Records.Where(r => !r.Consistent)) r.Reason.Should().StartWith("kept, marked: only ");
    }

    [Fact]
    public void The_margin_threshold_is_the_quantile_of_the_margins_of_the_classs_unguided_samples()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var o = Fast(0, 1, 0) with { Filter = CandidateFilter.DiffusionModel, MarginCalibration = 8, MarginQuantile = 0.25 };
        // The calibration samples, drawn here as a plain unguided batch with the same seeds.
        var calibration = gen.Generate(new LtgRequest { ClassIndex = 2, Count = 8, Options = o, Seeds = LongtailGenerator.MarginCalibrationSeeds(2, 8) });
        var margins = calibration.Records.Select(r => (float)r.DiffusionMargin!.Value).ToArray();
        gen.MarginThreshold(2, o).Should().BeApproximately(Coral.Ml.Signals.Calibration.Quantile(margins, 0.25), 1e-6);
        gen.MarginThreshold(2, o with { MarginQuantile = 1 }).Should().BeApproximately(margins.Max(), 1e-6);
        gen.MarginThreshold(2, o with { MarginQuantile = 0 }).Should().BeNull("quantile 0 asks for the argmin only");
        gen.MarginThreshold(2, o with { Filter = CandidateFilter.GuideEnsemble }).Should().BeNull();

        // A higher quantile never lets more candidates through (same seeds, same images).
        var request = new LtgRequest { ClassIndex = 2, Count = 6, Options = o with { Weight = 0.5 }, Seed = 9 };
        int Passing(double q) => gen.Generate(request with { Options = request.Options with { MarginQuantile = q } }).Records.Count(r => r.Consistent);
        Passing(0).Should().BeGreaterThanOrEqualTo(Passing(0.5)).And.BeGreaterThanOrEqualTo(Passing(1));
        Passing(0.5).Should().BeGreaterThanOrEqualTo(Passing(1));
    }

    [Theory]
    [InlineData(-0.1, 32, "margin-quantile")]
    [InlineData(1.5, 32, "margin-quantile")]
    [InlineData(0.5, 0, "margin-calibration")]
    public void Margin_settings_out_of_range_are_typed_errors(double quantile, int calibration, string input)
    {
        var act = () => new LtgOptions { MarginQuantile = quantile, MarginCalibration = calibration }.Validate();
        act.Should().Throw<DiffusionInputException>().Which.Input.Should().Be(input);
    }

    [Fact]
    public void A_class_no_candidate_passes_still_gets_its_images_marked_as_the_closest_misses()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        // Threshold 1: the guide never gives p = 1, so nothing is in class.
        var batch = new LongtailGenerator(model, bundle).Generate(new LtgRequest { ClassIndex = 0, Count = 3, Options = Fast(0.5, 2, 1.0), Seed = 6 });
        batch.Records.Should().HaveCount(3).And.OnlyContain(r => r.Kept && !r.Consistent && r.Reason.StartsWith("kept, marked: only 0 of 6"));
        batch.Records.Select(r => r.TargetProbability).Should().BeInDescendingOrder("the closest misses first");
        batch.Candidates.Count(c => !c.Kept).Should().Be(3);
    }

    [Fact]
    public void The_implicit_classifier_is_independent_of_batching_and_its_margin_agrees_with_its_argmax()
    {
        using var model = TinyModels.Diffusion();
        manual_seed(3);
        var x = rand(4, model.Channels, 8, 8) * 2 - 1;
        long[] seeds = [11, 12, 13, 14];
        int[] targets = [0, 1, 2, 1];
        int[] steps = ImplicitClassifier.Timesteps(50, ImplicitClassifier.DefaultFractions);
        steps.Should().Equal(5, 12, 20, 27, 34);
        var together = ImplicitClassifier.Judge(model, x, targets, seeds, steps);
        for (int i = 0; i < 4; i++)
        {
            var alone = ImplicitClassifier.Judge(model, x[i..(i + 1)], [targets[i]], [seeds[i]], steps)[0];
            alone.PredictedClass.Should().Be(together[i].PredictedClass);
            alone.Errors.Should().BeEquivalentTo(together[i].Errors, c => c.Using<float>(e => e.Subject.Should().BeApproximately(e.Expectation, 1e-5f)).WhenTypeIs<float>());
            together[i].PlacesInClass(targets[i]).Should().Be(together[i].TargetMargin > 0);
            together[i].Errors.Should().HaveCount(3).And.OnlyContain(e => e > 0 && float.IsFinite(e));
        }
    }

    [Fact]
    public void Keeps_the_top_n_in_class_candidates_by_signal_and_records_every_drop()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        // Threshold at the median target probability of the candidates: about half are "not in the class".
        var probe = gen.Generate(new LtgRequest { ClassIndex = 1, Count = 9, Options = Fast(0.5, 1, 0), Seed = 4 });
        double median = probe.Records.Select(r => r.TargetProbability).Order().ElementAt(4);
        var batch = gen.Generate(new LtgRequest { ClassIndex = 1, Count = 3, Options = Fast(0.5, 3, median), Seed = 4 });

        batch.Candidates.Should().HaveCount(9);
        batch.Candidates.Select(c => c.Seed).Should().OnlyHaveUniqueItems();
        var inClass = batch.Candidates.Where(c => c.TargetProbability >= median).OrderByDescending(c => c.SignalAfter).ToList();
        batch.Records.Select(r => r.Index).Should().Equal(inClass.Take(3).Select(c => c.Index), "the top 3 in-class candidates by the guiding signal, in rank order");
        batch.Images.Should().HaveCount(batch.Records.Count);
        batch.Records.Should().OnlyContain(r => r.Kept && r.Consistent && r.Reason.StartsWith("kept: rank"));
        foreach (var c in batch.Candidates.Where(c => !c.Kept))
            c.Reason.Should().Match(c.Consistent ? "dropped: in class, but rank *" : "dropped: the guide ensemble gives the class p = *");
        // Same seeds → the kept images are exactly those candidates' images.
        var all = gen.Generate(new LtgRequest { ClassIndex = 1, Count = 9, Options = Fast(0.5, 1, median), Seed = 4 });
        all.Records.Select(r => r.Seed).Take(3).Should().Equal(batch.Candidates.Take(3).Select(c => c.Seed), "candidates 0..N−1 keep the request's own seeds");
    }

    [Fact]
    public void Without_over_generation_nothing_is_dropped_and_inconsistent_images_are_only_marked()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var batch = new LongtailGenerator(model, bundle).Generate(new LtgRequest { ClassIndex = 0, Count = 4, Options = Fast(0.5, 1, 1.0), Seed = 2 });
        batch.Records.Should().HaveCount(4).And.OnlyContain(r => r.Kept && !r.Consistent && r.Reason.Contains("marked"));
        batch.Candidates.Should().BeEquivalentTo(batch.Records);
    }

    [Fact]
    public void The_unguided_twin_and_the_held_out_measure_are_recorded_on_the_same_footing()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var request = new LtgRequest { ClassIndex = 2, Count = 3, Options = Fast(2.0, 1, 0), Seed = 7 };
        var guided = gen.Generate(request);
        var unguided = gen.Generate(request with { Options = request.Options with { Weight = 0 } });
        guided.Records.Select(r => r.SignalUnguided!.Value).Should().Equal(unguided.Records.Select(r => r.SignalAfter), "the twin is the same seed at w = 0");
        guided.Records.Should().OnlyContain(r => r.HeldOutSignal == "mutual-information" && r.HeldOutAfter.HasValue && r.HeldOutUnguided.HasValue);
        guided.Records.Select(r => r.HeldOutUnguided!.Value).Should().Equal(unguided.Records.Select(r => r.HeldOutAfter!.Value));
        unguided.Records.Should().OnlyContain(r => r.SignalUnguided == null, "w = 0 needs no twin");
        guided.Records.Average(r => r.SignalAfter - r.SignalUnguided!.Value).Should().BeGreaterThan(0, "guidance raises the signal it follows");
    }

    [Fact]
    public void The_class_loss_objective_guides_and_ranks_by_the_ensembles_loss_for_the_target_and_keeps_mi_as_held_out()
    {
        using var model = TinyModels.Diffusion();
        using var bundle = TinyModels.Classifier();
        var gen = new LongtailGenerator(model, bundle);
        var o = Fast(2.0, 3, 0) with { Objective = GuidanceObjective.ClassLoss };
        o.GuidingSignalName.Should().Be(TargetClassLoss.SignalName);
        var batch = gen.Generate(new LtgRequest { ClassIndex = 2, Count = 3, Options = o, Seed = 7 });

        batch.Candidates.Should().OnlyContain(c => c.Signal == "class-loss" && c.HeldOutSignal == "mutual-information");
        using (var scope = NewDisposeScope())
        using (inference_mode())
        {
            var images = stack(batch.Images.Select(im => tensor(im.Data, [im.Channels, im.Height, im.Width])).ToArray());
            var loss = new TargetClassLoss(bundle, 2).Compute(images).data<float>().ToArray();
            loss.Should().BeEquivalentTo(batch.Records.Select(r => (float)r.SignalAfter), c => c.Using<float>(e => e.Subject.Should().BeApproximately(e.Expectation, 1e-4f)).WhenTypeIs<float>(),
                "the recorded signal is the guide ensemble's loss for the target class of the kept image");
        }
        var ranked = batch.Candidates.Where(c => c.Consistent).OrderByDescending(c => c.SignalAfter).Take(3).Select(c => c.Index);
        batch.Records.Select(r => r.Index).Should().Equal(ranked, "kept = the in-class candidates the classifier is most wrong about");
        batch.Records.Average(r => r.SignalAfter - r.SignalUnguided!.Value).Should().BeGreaterThan(0, "guidance raises the class loss it follows");
        foreach (var r in batch.Candidates)
            r.TargetProbability.Should().BeApproximately(Math.Exp(-r.SignalAfter), 1e-4, "the loss is −log of the ensemble probability the record shows");
    }

    [Fact]
    public void Oversample_out_of_range_is_a_typed_error()
    {
        var act = () => new LtgOptions { Oversample = 0 }.Validate();
        act.Should().Throw<DiffusionInputException>().Which.Input.Should().Be("oversample");
    }
}
