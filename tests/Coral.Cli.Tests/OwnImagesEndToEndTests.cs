using System.Text.Json;
using System.Text.RegularExpressions;
using Coral.Cli.Commands;
using Coral.LocalHost.Audit;
using Coral.Pipeline.Storage;
using Coral.Testing;

namespace Coral.Cli.Tests;

/// <summary>
/// The whole path on images that are not Fashion-MNIST (RGB, 20 px, own class names, already long-tailed), through the
/// real `coral`: train classifier → train diffusion → serve --upload (score, flag, generate) → review approve with a
/// confirmed class → curated/&lt;class&gt;/. Models are tiny (seconds); this checks the plumbing, not their quality.
/// </summary>
public class OwnImagesEndToEndTests
{
    private static ObservedProcess Coral(params string[] args) => new(CliProcess.StartInfo(args));

    private static async Task<string> RunOkAsync(TimeSpan timeout, params string[] args)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(timeout, args);
        code.Should().Be(0, $"coral {string.Join(' ', args)}\n{stdout}\n{stderr}");
        return stdout;
    }

    [Fact]
    public async Task An_rgb_folder_of_its_own_goes_from_training_to_curated_with_reviewer_labels()
    {
        string work = Directory.CreateTempSubdirectory("coral-own-").FullName;
        string data = LongTailedImageFolder.Write(Path.Combine(work, "blobs"), size: 20, seed: 1);
        string field = LongTailedImageFolder.Write(Path.Combine(work, "field"), size: 20, seed: 2, scale: 0.01);   // 4 + 2 + 1 + 1 images
        string classifier = Path.Combine(work, "classifier"), diffusion = Path.Combine(work, "diffusion");

        var report = await RunOkAsync(TimeSpan.FromMinutes(2), "data", "report", "--data", data);
        report.Should().Contain("3x20x20").And.Contain("ember").And.Contain("dusk");
        await RunOkAsync(TimeSpan.FromMinutes(3), "train", "classifier", "--data", data, "--members", "2", "--epochs", "2", "--out", classifier,
            "--checkpoints", Path.Combine(work, "ckpt"), "--logit-adjust", "1");
        File.Exists(Path.Combine(classifier, "scorer.onnx")).Should().BeTrue("the ONNX scoring graph is written beside every bundle");
        // The out-of-domain mark: fitted at training, refitted by `calibrate` on the same held-out half, measured by `eval domain`.
        string cardBefore = File.ReadAllText(Path.Combine(classifier, "model-card.json"));
        cardBefore.Should().Contain("\"outOfDomainThreshold\"").And.Contain("logit-adjusted cross-entropy", "the card names the members' loss");
        (await RunOkAsync(TimeSpan.FromMinutes(2), "calibrate", "--data", data, "--model", classifier)).Should().Contain("feature distance >");
        string domain = Path.Combine(work, "domain.json");
        (await RunOkAsync(TimeSpan.FromMinutes(2), "eval", "domain", "--data", data, "--model", classifier, "--per-set", "40", "--out", domain))
            .Should().Contain("uniform-noise").And.Contain("real test images");
        using (var d = JsonDocument.Parse(File.ReadAllText(domain)))
        {
            d.RootElement.GetProperty("sets").GetArrayLength().Should().Be(4);
            d.RootElement.GetProperty("verdict").GetProperty("met").ValueKind.Should().BeOneOf(JsonValueKind.True, JsonValueKind.False);
            d.RootElement.GetProperty("testPerClass").GetArrayLength().Should().Be(4, "one row per class of the folder");
        }
        await RunOkAsync(TimeSpan.FromMinutes(3), "train", "diffusion", "--data", data, "--coral", "--channels", "8", "--mult", "1,2",
            "--steps", "20", "--batch", "16", "--out", diffusion);
        File.ReadAllText(Path.Combine(diffusion, "model", "model-card.json")).Should().Contain("\"imageChannels\": 3").And.Contain("\"resolution\": 20");

        using var azurite = Coral("azurite");
        var connection = (await azurite.WaitForLineAsync(new Regex("^" + Regex.Escape(AzuriteCommand.ConnectionStringPrefix) + "(?<cs>.+)$"), TimeSpan.FromSeconds(60))).Groups["cs"].Value;
        string prefix = "own" + Guid.NewGuid().ToString("N")[..8] + "-";
        // Every field image flagged (threshold below any signal), two images per batch.
        await RunOkAsync(TimeSpan.FromMinutes(4), "serve", "--connection", connection, "--name-prefix", prefix, "--classifier", classifier,
            "--diffusion", Path.Combine(diffusion, "model"), "--upload", field, "--threshold=-1000000", "--images-per-job", "2", "--until-idle",
            "--scan-interval-ms", "200");
        var storage = PipelineStorage.FromConnectionString(connection, prefix);
        var audit = await PipelineAudit.ReadAsync(storage, generatorRan: true, default);
        audit.Problems.Should().BeEmpty();
        audit.Records.Should().HaveCount(8).And.OnlyContain(r => r.Flagged && r.Source.Name.StartsWith("field/"));
        audit.Manifests.Should().Be(8);

        var list = await RunOkAsync(TimeSpan.FromMinutes(1), "review", "list", "--connection", connection, "--name-prefix", prefix);
        string job = list.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Split('\t')[0];
        var refused = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "review", "approve", job, "--connection", connection, "--name-prefix", prefix);
        refused.ExitCode.Should().Be(CliErrors.BadInput, "approving without a confirmed class is refused");
        refused.Stderr.Should().Contain("no reviewer-confirmed class").And.StartWith("error: ");
        await RunOkAsync(TimeSpan.FromMinutes(1), "review", "approve", job, "--class", "moss", "--source-class", "moss", "--connection", connection, "--name-prefix", prefix);
        var curated = new List<string>();
        await foreach (var b in storage.Curated.GetBlobsAsync()) curated.Add(b.Name);
        curated.Should().HaveCount(2).And.OnlyContain(n => n.StartsWith("moss/" + job + "-"));

        // The loop closes: approved images train the next classifier, and its card says so.
        string pulled = Path.Combine(work, "curated");
        (await RunOkAsync(TimeSpan.FromMinutes(1), "review", "pull-curated", "--to", pulled, "--connection", connection, "--name-prefix", prefix))
            .Should().Contain("2 approved images").And.Contain("moss 2");
        Directory.GetFiles(Path.Combine(pulled, "moss"), "*.png").Should().HaveCount(2);
        string next = Path.Combine(work, "classifier-v2");
        await RunOkAsync(TimeSpan.FromMinutes(3), "train", "classifier", "--data", data, "--members", "2", "--epochs", "1", "--out", next,
            "--checkpoints", Path.Combine(work, "ckpt2"), "--add-images", pulled);
        using (var card = JsonDocument.Parse(File.ReadAllText(Path.Combine(next, "model-card.json"))))
        {
            var added = card.RootElement.GetProperty("addedImages")[0];
            added.GetProperty("count").GetInt32().Should().Be(2);
            added.GetProperty("countsPerClass")[2].GetInt32().Should().Be(2, "both approved images are moss (class 2 of dusk, ember, moss, tide)");
            card.RootElement.GetProperty("dataset").GetString().Should().Contain("plus 2 approved images from " + pulled);
        }
        // Straight from storage: a stale local file (an image rejected since an earlier pull) never reaches training.
        string ckpt3 = Path.Combine(work, "ckpt3");
        Directory.CreateDirectory(Path.Combine(ckpt3, "curated", "tide"));
        File.Copy(Directory.GetFiles(Path.Combine(pulled, "moss"))[0], Path.Combine(ckpt3, "curated", "tide", "stale.png"));
        string fromStorage = await RunOkAsync(TimeSpan.FromMinutes(3), "train", "classifier", "--data", data, "--members", "2", "--epochs", "1",
            "--out", Path.Combine(work, "classifier-v3"), "--checkpoints", ckpt3, "--add-curated", "--connection", connection, "--name-prefix", prefix);
        fromStorage.Should().Contain("2 approved images from curated/");
        using (var card = JsonDocument.Parse(File.ReadAllText(Path.Combine(work, "classifier-v3", "model-card.json"))))
        {
            var added = card.RootElement.GetProperty("addedImages")[0];
            added.GetProperty("count").GetInt32().Should().Be(2, "the curated/ blobs, not the stale local file");
            added.GetProperty("countsPerClass")[2].GetInt32().Should().Be(2);
        }
        var none = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), "train", "classifier", "--data", data, "--members", "2", "--epochs", "1",
            "--out", Path.Combine(work, "classifier-v4"), "--checkpoints", Path.Combine(work, "ckpt4"), "--add-curated", "--connection", connection, "--name-prefix", "empty" + prefix);
        none.ExitCode.Should().Be(CliErrors.BadInput, none.Stderr);
        none.Stderr.Should().StartWith("error: --add-curated:").And.Contain("holds no approved image");
        // What they changed, per class, on this folder's own test split; and the LTG experiment on the same folder.
        string compare = Path.Combine(work, "retrain.json");
        (await RunOkAsync(TimeSpan.FromMinutes(3), "eval", "retrain", "--data", data, "--model", classifier, "--add-images", pulled, "--epochs", "1", "--out", compare))
            .Should().Contain("moss").And.Contain("tail classes");
        using (var r = JsonDocument.Parse(File.ReadAllText(compare)))
            r.RootElement.GetProperty("added").GetInt32().Should().Be(2);
        string ltg = Path.Combine(work, "ltg");
        string ltgOut = await RunOkAsync(TimeSpan.FromMinutes(4), "eval", "ltg", "--data", data, "--classifier", classifier, "--diffusion", Path.Combine(diffusion, "model"),
            "--parts", "c", "--retrain-n", "2", "--retrain-sources", "1", "--retrain-seeds", "2", "--retrain-epochs", "1", "--steps", "4",
            "--retrain-la-twins", "true", "--verdict-arm", "ltg+la", "--out", ltg);
        // A logit-adjusted twin trains on its arm's images: the same number added.
        string Added(string arm) => System.Text.RegularExpressions.Regex.Match(ltgOut, $@"seed 0 {System.Text.RegularExpressions.Regex.Escape(arm)}: .*\((\+\d+) images\)").Groups[1].Value;
        Added("ltg+la").Should().NotBeEmpty().And.Be(Added("ltg"));
        Added("augment+la").Should().NotBeEmpty().And.Be(Added("augment"));
        using (var r = JsonDocument.Parse(File.ReadAllText(Path.Combine(ltg, "eval-ltg.json"))))
        {
            r.RootElement.GetProperty("data").GetString().Should().Contain("3x20x20");
            r.RootElement.GetProperty("retraining").GetProperty("arms").EnumerateArray().Select(a => a.GetProperty("arm").GetString())
                .Should().Equal("none", "sources", "oversample", "logit-adjust", "augment", "unguided", "ltg", "oversample+la", "augment+la", "unguided+la", "ltg+la");
            r.RootElement.GetProperty("verdict").GetProperty("ltgArm").GetString().Should().Be("ltg+la");
            r.RootElement.GetProperty("verdict").GetProperty("bestControl").GetString().Should().NotStartWith("ltg", "no LTG arm is a control");
            r.RootElement.GetProperty("verdict").GetProperty("status").GetString().Should().Be("incomplete", "part (c) alone decides one of three targets");
        }
        // The ceiling arm, without any LTG arm: new labelled real images against the controls, and no verdict.
        string ceiling = Path.Combine(work, "ceiling");
        string[] ceilingArgs = ["eval", "ltg", "--data", data, "--classifier", classifier, "--diffusion", Path.Combine(diffusion, "model"),
            "--parts", "c", "--retrain-n", "2", "--retrain-sources", "1", "--retrain-seeds", "2", "--retrain-epochs", "1",
            "--retrain-la-twins", "true", "--retrain-arms", "none,hard-real,fresh-real,oversample", "--out", ceiling];
        string ceilingOut = await RunOkAsync(TimeSpan.FromMinutes(3), ceilingArgs);
        string Ceiling(string arm) => System.Text.RegularExpressions.Regex.Match(ceilingOut, $@"seed 1 {System.Text.RegularExpressions.Regex.Escape(arm)}: .*\((\+\d+) images\)").Groups[1].Value;
        Ceiling("fresh-real").Should().NotBeEmpty().And.Be(Ceiling("oversample"), "the same budget").And.Be(Ceiling("fresh-real+la"));
        using (var r = JsonDocument.Parse(File.ReadAllText(Path.Combine(ceiling, "eval-ltg.json"))))
        {
            var c = r.RootElement.GetProperty("retraining");
            c.GetProperty("arms").EnumerateArray().Select(a => a.GetProperty("arm").GetString())
                .Should().Equal(["none", "oversample", "fresh-real", "hard-real", "oversample+la", "fresh-real+la", "hard-real+la"], "table order, whatever order was asked");
            c.GetProperty("bestControl").GetString().Should().BeOneOf(["none", "oversample", "oversample+la"], "a reference arm is never a control");
            c.GetProperty("ltgMinusBestControl").ValueKind.Should().Be(JsonValueKind.Null);
            c.GetProperty("referenceMinusBestControl").EnumerateObject().Select(p => p.Name).Should().Equal("fresh-real", "hard-real", "fresh-real+la", "hard-real+la");
            r.RootElement.GetProperty("verdict").TryGetProperty("ltgMinusBestControlTailPp", out _).Should().BeFalse();
        }
        // Run again: every fine-tune is read back from the ledger, with the same numbers.
        string Arms(string report) => JsonDocument.Parse(File.ReadAllText(report)).RootElement.GetProperty("retraining").GetProperty("arms").GetRawText();
        string first = Arms(Path.Combine(ceiling, "eval-ltg.json"));
        string again = await RunOkAsync(TimeSpan.FromMinutes(2), ceilingArgs);
        // (The console may wrap a line anywhere there is a space.)
        Regex.IsMatch(again, @"resuming:\s+14\s+finished\s+fine-tunes").Should().BeTrue(again);
        Regex.Matches(again, @"from\s+retrain-arms\.jsonl").Should().HaveCount(14, "2 seeds × 7 arms, none run again");
        Arms(Path.Combine(ceiling, "eval-ltg.json")).Should().Be(first);

        azurite.Process.Kill(entireProcessTree: false);
    }
}
