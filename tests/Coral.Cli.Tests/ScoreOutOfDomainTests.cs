using System.Text.Json;
using Coral.Data;
using Coral.Imaging;

namespace Coral.Cli.Tests;

/// <summary>`coral score` marks inputs unlike the training data (the shipped bundle's feature distance) and counts them.</summary>
public class ScoreOutOfDomainTests
{
    [Fact]
    public async Task Noise_is_marked_out_of_domain_and_real_images_are_not()
    {
        string dir = Directory.CreateTempSubdirectory("coral-ood-").FullName;
        var rng = new Random(4);
        for (int i = 0; i < 3; i++)
        {
            var noise = new float[28 * 28];
            for (int p = 0; p < noise.Length; p++) noise[p] = rng.Next(256) / 255f;
            File.WriteAllBytes(Path.Combine(dir, $"noise{i}.png"), ImageCodec.EncodePng(new ImageTensor(noise, 1, 28, 28)));
        }
        var test = FashionMnist.Load(FashionMnist.Split.Test);
        for (int i = 0; i < 3; i++) File.WriteAllBytes(Path.Combine(dir, $"real{i}.png"), ImageCodec.EncodePng(test.Tensor(i)));
        string output = Path.Combine(dir, "scores.jsonl");

        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "score", dir, "--out", output);
        code.Should().Be(0, stderr);
        stdout.Should().Contain("6 scored").And.Contain("3 out of domain");
        foreach (var line in File.ReadAllLines(output))
        {
            using var r = JsonDocument.Parse(line);
            string source = Path.GetFileName(r.RootElement.GetProperty("source").GetString()!);
            bool marked = r.RootElement.TryGetProperty("outOfDomain", out var o) && o.ValueKind == JsonValueKind.String;
            marked.Should().Be(source.StartsWith("noise"), source);
            if (marked) o.GetString().Should().StartWith("feature distance");
        }
    }
}
