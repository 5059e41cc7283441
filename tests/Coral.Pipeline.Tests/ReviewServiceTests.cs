using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Manifests;
using Coral.Pipeline.Review;
using Coral.Testing;
using static Coral.Testing.PipelineTestKit;

namespace Coral.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public class ReviewServiceTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Approve_copies_to_curated_by_class_and_reject_removes_the_copy()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s);
        await Generator(s).HandleAsync(job, default);
        var review = new ReviewService(s);

        var m = await review.SetStatusAsync(job.JobId, [], ReviewStatus.Approved, "alice", default, new ClassLabels { ConfirmTargets = true });

        m.Images.Should().OnlyContain(i => i.Status == ReviewStatus.Approved && i.ReviewedBy == "alice" && i.CuratedPath != null);
        var curated = await NamesAsync(s.Curated);
        curated.Should().BeEquivalentTo(m.Images.Select(i => i.CuratedPath));
        curated.Should().OnlyContain(p => p.StartsWith(FakeImageScorer.Classes[job.Score.PredictedClass] + "/"));
        var bytes = (await s.Curated.GetBlobClient(m.Images[0].CuratedPath!).DownloadContentAsync()).Value.Content.ToArray();
        GenerateHandler.Sha256(bytes).Should().Be(m.Images[0].Sha256);

        m = await review.SetStatusAsync(job.JobId, [0], ReviewStatus.Rejected, "bob", default);
        var page = (await s.Manifests.GetBlobClient(BlobPaths.ReviewPage(job.JobId)).DownloadContentAsync()).Value.Content.ToString();
        page.Should().Contain("<dd class=\"status\">rejected</dd>").And.Contain("<dd class=\"status\">approved</dd>", "the page shows the review state");
        (await NamesAsync(s.Curated)).Should().HaveCount(m.Images.Count - 1);
        (await review.ListAsync(default)).Single().Should().Match<ManifestSummary>(x => x.Approved == m.Images.Count - 1 && x.Rejected == 1);
    }

    [Fact]
    public async Task Concurrent_reviewers_lose_no_update()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s, images: 8);
        await Generator(s).HandleAsync(job, default);
        var review = new ReviewService(s);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            review.SetStatusAsync(job.JobId, [i], i % 2 == 0 ? ReviewStatus.Approved : ReviewStatus.Rejected, $"r{i}", default, new ClassLabels { ConfirmTargets = true })));

        var (m, _) = await review.ReadAsync(job.JobId, default);
        m.Images.Should().OnlyContain(i => i.Status == (i.Index % 2 == 0 ? ReviewStatus.Approved : ReviewStatus.Rejected) && i.ReviewedBy == $"r{i.Index}");
        (await NamesAsync(s.Curated)).Should().BeEquivalentTo(
            m.Images.Where(i => i.Status == ReviewStatus.Approved).Select(i => BlobPaths.CuratedImage(i.ClassName, m.JobId, i.Index)), "curated/ holds exactly the approved images");
    }

    [Fact]
    public async Task Reviewers_who_disagree_leave_curated_matching_the_final_manifest()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s, images: 4);
        await Generator(s).HandleAsync(job, default);
        var review = new ReviewService(s);

        // Every reviewer sets every image, half approving and half rejecting: their curated syncs interleave.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            review.SetStatusAsync(job.JobId, [], i % 2 == 0 ? ReviewStatus.Approved : ReviewStatus.Rejected, $"r{i}", default, new ClassLabels { ConfirmTargets = true })));

        var (m, _) = await review.ReadAsync(job.JobId, default);
        m.Images.Select(i => i.Status).Distinct().Should().ContainSingle("the last write decides every image");
        (await NamesAsync(s.Curated)).Should().BeEquivalentTo(
            m.Images.Where(i => i.Status == ReviewStatus.Approved).Select(i => BlobPaths.CuratedImage(i.ClassName, m.JobId, i.Index)));
    }

    [Fact]
    public async Task Unknown_job_or_image_is_a_typed_error_naming_it()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var review = new ReviewService(s);
        await FluentActions.Awaiting(() => review.ReadAsync("nope-0000000000000000", default))
            .Should().ThrowAsync<ReviewTargetException>().WithMessage("*nope-0000000000000000*");
        var job = await FlaggedJobAsync(s);
        await Generator(s).HandleAsync(job, default);
        await FluentActions.Awaiting(() => review.SetStatusAsync(job.JobId, [42], ReviewStatus.Approved, "x", default, new ClassLabels { ConfirmTargets = true }))
            .Should().ThrowAsync<ReviewTargetException>().WithMessage("*42*");
    }

    [Fact]
    public async Task Only_reviewer_confirmed_labels_reach_curated_and_a_correction_moves_the_copy()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        var job = await FlaggedJobAsync(s, images: 4);
        await Generator(s).HandleAsync(job, default);
        var review = new ReviewService(s);
        var names = job.Score.ClassNames;
        string target = names[job.Score.PredictedClass], other = names.First(n => n != target);

        // Approving without saying what the images are is refused: the target class is only the classifier's guess.
        await FluentActions.Awaiting(() => review.SetStatusAsync(job.JobId, [], ReviewStatus.Approved, "alice", default))
            .Should().ThrowAsync<ReviewTargetException>().WithMessage("*no reviewer-confirmed class*--confirm-targets*");
        (await NamesAsync(s.Curated)).Should().BeEmpty();

        // The reviewer says the batch (and the source) is another class; image 2 is the target after all.
        var m = await review.SetStatusAsync(job.JobId, [], ReviewStatus.Approved, "alice", default,
            new ClassLabels { All = other.ToUpperInvariant(), PerImage = new Dictionary<int, string> { [2] = target }, Source = other });
        m.SourceConfirmedClass.Should().Be(other, "names are matched case-insensitively and stored as the classifier spells them");
        m.Images.Select(i => i.ConfirmedClass).Should().Equal(other, other, target, other);
        (await NamesAsync(s.Curated)).Should().BeEquivalentTo(m.Images.Select(i => BlobPaths.CuratedImage(i.ConfirmedClass!, m.JobId, i.Index)));

        // A correction of image 0 moves its copy; nothing stays under the old class.
        m = await review.SetStatusAsync(job.JobId, [0], ReviewStatus.Approved, "bob", default, new ClassLabels { All = target });
        (await NamesAsync(s.Curated)).Should().BeEquivalentTo(m.Images.Select(i => BlobPaths.CuratedImage(i.ConfirmedClass!, m.JobId, i.Index)));
        (await NamesAsync(s.Curated)).Should().Contain(BlobPaths.CuratedImage(target, m.JobId, 0)).And.NotContain(BlobPaths.CuratedImage(other, m.JobId, 0));

        await FluentActions.Awaiting(() => review.SetStatusAsync(job.JobId, [], ReviewStatus.Approved, "x", default, new ClassLabels { All = "zebra" }))
            .Should().ThrowAsync<ReviewTargetException>().WithMessage("*'zebra' is not a class*");
        var page = (await s.Manifests.GetBlobClient(BlobPaths.ReviewPage(job.JobId)).DownloadContentAsync()).Value.Content.ToString();
        page.Should().Contain("<dd class=\"confirmed-class\">" + target + "</dd>").And.Contain("<dd id=\"source-confirmed\">" + other + "</dd>");
    }

    [Theory]
    [InlineData("../scores/x")]
    [InlineData("UPPER-0000000000000000")]
    [InlineData("short")]
    public async Task Job_ids_are_validated_before_they_touch_storage(string jobId)
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        await FluentActions.Awaiting(() => new ReviewService(s).ReadAsync(jobId, default))
            .Should().ThrowAsync<ReviewTargetException>().WithMessage($"'{jobId}' is not a job id*");
    }
}
