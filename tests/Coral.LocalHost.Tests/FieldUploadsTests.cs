using Coral.LocalHost.Serving;
using Coral.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Coral.LocalHost.Tests;

[Collection(AzuriteCollection.Name)]
public class FieldUploadsTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_folder_of_your_own_images_uploads_once_under_its_name()
    {
        var s = await PipelineTestStorage.CreateAsync(azurite);
        string root = Path.Combine(Directory.CreateTempSubdirectory("coral-upload-").FullName, "shop-photos");
        LongTailedImageFolder.Write(root, scale: 0.02);   // 8 + 3 + 1 + 1 RGB PNGs in four class folders
        File.WriteAllText(Path.Combine(root, "notes.txt"), "not an image");
        int expected = Directory.EnumerateFiles(root, "*.png", SearchOption.AllDirectories).Count();

        (await FieldUploads.UploadFolderAsync(s, root, NullLogger.Instance, default)).Should().Be(expected);
        var names = new List<string>();
        await foreach (var b in s.Incoming.GetBlobsAsync()) names.Add(b.Name);
        names.Should().HaveCount(expected).And.OnlyContain(n => n.StartsWith("shop-photos/") && n.EndsWith(".png"));
        names.Should().Contain("shop-photos/ember/ember-0000.png");

        (await FieldUploads.UploadFolderAsync(s, root, NullLogger.Instance, default)).Should().Be(0, "a re-run adds no new inputs");
        await FluentActions.Awaiting(() => FieldUploads.UploadFolderAsync(s, root + "-missing", NullLogger.Instance, default))
            .Should().ThrowAsync<DirectoryNotFoundException>().WithMessage("*-missing: no such folder*");
    }
}
