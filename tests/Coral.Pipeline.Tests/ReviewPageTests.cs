using System.Globalization;
using Coral.Pipeline.Contracts;
using Coral.Pipeline.Manifests;
using Coral.Testing;
using Microsoft.Playwright;
using static Coral.Testing.PipelineTestKit;

namespace Coral.Pipeline.Tests;

/// <summary>Opens the generated review page in real headless Chromium (Debian's; no browser download).</summary>
[Collection(AzuriteCollection.Name)]
public class ReviewPageTests(AzuriteFixture azurite)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task The_page_renders_its_images_and_the_numbers_match_the_manifest()
    {
        File.Exists(Chromium).Should().BeTrue("Debian's chromium is installed by scripts/setup.sh");
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s, name: "flag<b>&\"x\".png", images: 5);
        await Generator(s).HandleAsync(job, default);
        var (manifest, _) = await new Review.ReviewService(s).ReadAsync(job.JobId, default);
        var html = (await s.Manifests.GetBlobClient(BlobPaths.ReviewPage(job.JobId)).DownloadContentAsync()).Value.Content.ToString();
        var file = Path.Combine(Directory.CreateTempSubdirectory("coral-review-").FullName, "review.html");
        await File.WriteAllTextAsync(file, html);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
        var requests = new List<string>();
        page.Request += (_, r) => requests.Add(r.Url);
        await page.GotoAsync(new Uri(file).AbsoluteUri);

        (await page.TextContentAsync("#job-id")).Should().Be(manifest.JobId);
        (await page.TextContentAsync("#source-name")).Should().Be($"{manifest.Source.Container}/{manifest.Source.Name}");
        (await page.TextContentAsync("#source-signal")).Should().Be(ReviewPage.Number(manifest.Classifier.Scores.Signal));
        (await page.TextContentAsync("#threshold")).Should().Be(ReviewPage.Number(manifest.Classifier.Threshold));
        var loaded = await page.EvaluateAsync<int[]>("() => [...document.images].map(i => i.complete ? i.naturalWidth : -1)");
        loaded.Should().HaveCount(1 + manifest.Images.Count).And.OnlyContain(w => w == 28);

        var cards = await page.QuerySelectorAllAsync("figure.synthetic");
        cards.Should().HaveCount(manifest.Images.Count);
        foreach (var card in cards)
        {
            int index = int.Parse((await card.GetAttributeAsync("data-index"))!, CultureInfo.InvariantCulture);
            var img = manifest.Images.Single(i => i.Index == index);
            // One footing: the same seed unguided against guided, never the source's score from another scorer as "before".
            (await card.QuerySelectorAsync(".signal-before")).Should().BeNull();
            (await (await card.QuerySelectorAsync(".signal-unguided"))!.TextContentAsync()).Should().Be(ReviewPage.Number(img.Evidence!.SignalUnguided!.Value));
            (await (await card.QuerySelectorAsync(".signal-after"))!.TextContentAsync()).Should().Be(ReviewPage.Number(img.SignalAfter));
            (await (await card.QuerySelectorAsync(".held-out"))!.TextContentAsync()).Should().Contain(ReviewPage.Number(img.Evidence.HeldOutAfter!.Value));
            (await (await card.QuerySelectorAsync(".reason"))!.TextContentAsync()).Should().Be(img.Evidence.Reason);
            (await (await card.QuerySelectorAsync(".class-name"))!.TextContentAsync()).Should().Be(img.ClassName);
            (await (await card.QuerySelectorAsync(".class-prob"))!.TextContentAsync()).Should().Be(ReviewPage.Number(img.ClassProbabilities[img.ClassIndex]));
            (await (await card.QuerySelectorAsync("[data-consistent]"))!.GetAttributeAsync("data-consistent")).Should().Be(img.Consistent ? "true" : "false");
            (await (await card.QuerySelectorAsync(".seed"))!.TextContentAsync()).Should().Be(img.Seed.ToString(CultureInfo.InvariantCulture));
        }
        manifest.Images.Should().Contain(i => !i.Consistent, "the double marks some images inconsistent");
        (await page.QuerySelectorAllAsync("figure.inconsistent")).Should().HaveCount(manifest.Images.Count(i => !i.Consistent));
        manifest.DroppedCandidates.Should().ContainSingle().Which.Kept.Should().BeFalse();
        (await page.QuerySelectorAllAsync("#dropped tr td.reason")).Should().HaveCount(1);
        (await page.TextContentAsync("#dropped td.reason")).Should().Be(manifest.DroppedCandidates![0].Reason);
        requests.Should().OnlyContain(u => u.StartsWith("file:") || u.StartsWith("data:"), "the page is self-contained");
    }
}
