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
