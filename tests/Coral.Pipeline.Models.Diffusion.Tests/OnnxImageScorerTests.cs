using Coral.Data;
using Coral.Imaging;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;

namespace Coral.Pipeline.Models.Diffusion.Tests;

/// <summary>The default scorer (ONNX Runtime) and the TorchSharp one agree on real encoded images.</summary>
public class OnnxImageScorerTests
{
    [Fact]
    public void Onnx_and_torchsharp_scorers_give_the_same_score_for_real_pngs()
    {
        string bundle = ModelPaths.Resolve(Defaults.ClassifierPath);
        using var onnx = OnnxImageScorer.Load(bundle, Defaults.MaxInputBytes);
        using var torch = ClassifierImageScorer.Load(bundle, Defaults.MaxInputBytes);
        onnx.ModelVersion.Should().Be(torch.ModelVersion);
        onnx.RecommendedThreshold.Should().Be(torch.RecommendedThreshold);
        var test = FashionMnist.Load(FashionMnist.Split.Test);
        for (int i = 0; i < 60; i++)
        {
            var png = ImageCodec.EncodePng(test.Tensor(i * 97));
            var a = onnx.Score(png, $"t{i}.png", default);
            var b = torch.Score(png, $"t{i}.png", default);
            a.PredictedClass.Should().Be(b.PredictedClass);
            a.SignalName.Should().Be(b.SignalName);
            a.Signal.Should().BeApproximately(b.Signal, 1e-4);
            a.Probabilities.Zip(b.Probabilities).Should().OnlyContain(p => Math.Abs(p.First - p.Second) < 1e-4);
        }
    }

    [Fact]
    public void One_forward_pass_over_a_batch_gives_each_image_what_scoring_it_alone_gives()
    {
        using var onnx = OnnxImageScorer.Load(ModelPaths.Resolve(Defaults.ClassifierPath), Defaults.MaxInputBytes);
        IImageScorer scorer = onnx;
        var test = FashionMnist.Load(FashionMnist.Split.Test);
        var pngs = Enumerable.Range(0, 40).Select(i => ImageCodec.EncodePng(test.Tensor(i * 211))).ToList();
        // A colour image and a noise image in the same batch: their out-of-domain notes must stay their own.
        var rgb = new ImageTensor([.. Enumerable.Range(0, 3 * 28 * 28).Select(k => k < 784 ? 0.9f : 0.1f)], 3, 28, 28);
        var noise = new ImageTensor([.. Enumerable.Range(0, 784).Select(k => (float)new Random(k).NextDouble())], 1, 28, 28);
        pngs.Insert(5, ImageCodec.EncodePng(rgb));
        pngs.Insert(17, ImageCodec.EncodePng(noise));

        var batch = scorer.ScoreBatch([.. pngs.Select((p, i) => scorer.Prepare(p, $"b{i}.png", default))], default);

        batch.Should().HaveCount(pngs.Count);
        for (int i = 0; i < pngs.Count; i++)
        {
            var alone = onnx.Score(pngs[i], $"b{i}.png", default);
            batch[i].PredictedClass.Should().Be(alone.PredictedClass);
            batch[i].Signal.Should().BeApproximately(alone.Signal, 1e-5);
            batch[i].Probabilities.Zip(alone.Probabilities).Should().OnlyContain(p => Math.Abs(p.First - p.Second) < 1e-5);
            batch[i].OutOfDomain.Should().Equal(alone.OutOfDomain);
            batch[i].Conversion.Should().Be(alone.Conversion);
        }
        batch[5].OutOfDomain.Should().Contain(r => r.Contains("colour"));
        batch[17].OutOfDomain.Should().Contain(r => r.Contains("feature distance"));
    }

    [Fact]
    public void Noise_is_marked_out_of_domain_by_both_scorers_and_real_images_almost_never()
    {
        string bundle = ModelPaths.Resolve(Defaults.ClassifierPath);
        using var onnx = OnnxImageScorer.Load(bundle, Defaults.MaxInputBytes);
        using var torch = ClassifierImageScorer.Load(bundle, Defaults.MaxInputBytes);
        var rng = new Random(11);
        int noiseMarked = 0, realMarked = 0;
        var test = FashionMnist.Load(FashionMnist.Split.Test);
        for (int i = 0; i < 100; i++)
        {
            var noise = new float[28 * 28];
            for (int p = 0; p < noise.Length; p++) noise[p] = rng.Next(256) / 255f;
            var png = ImageCodec.EncodePng(new ImageTensor(noise, 1, 28, 28));
            var a = onnx.Score(png, $"noise{i}.png", default);
            var b = torch.Score(png, $"noise{i}.png", default);
            a.OutOfDomain.Any(r => r.StartsWith("feature distance")).Should().Be(b.OutOfDomain.Any(), $"noise{i}: both runtimes mark the same images");
            if (a.OutOfDomain.Count > 0) noiseMarked++;
            if (onnx.Score(ImageCodec.EncodePng(test.Tensor(i * 53)), $"t{i}.png", default).OutOfDomain.Count > 0) realMarked++;
        }
        // Measured on 2,000 noise and 10,000 real test images (coral eval domain): 100 % and 0.42 % marked.
        noiseMarked.Should().BeGreaterThan(90);
        realMarked.Should().BeLessThan(5);
    }

    [Fact]
    public void Undecodable_input_is_rejected_naming_it_and_a_missing_graph_says_how_to_make_it()
    {
        using var onnx = OnnxImageScorer.Load(ModelPaths.Resolve(Defaults.ClassifierPath), Defaults.MaxInputBytes);
        var act = () => onnx.Score(new byte[] { 1, 2, 3 }, "incoming/junk.png", default);
        act.Should().Throw<ImageRejectedException>().Which.SourceName.Should().Be("incoming/junk.png");
        string empty = Directory.CreateTempSubdirectory("coral-onnx-").FullName;
        var missing = () => OnnxImageScorer.Load(empty, Defaults.MaxInputBytes);
        missing.Should().Throw<ModelUnavailableException>().WithMessage("*coral export onnx*");
    }
}
