using Coral.Pipeline.Contracts;

namespace Coral.Pipeline.Tests;

public class JobIdsTests
{
    [Fact]
    public void Same_blob_version_gives_same_id_whether_the_etag_is_quoted_or_not()
    {
        JobIds.Derive("field/a.png", "\"0x8DC1\"").Should().Be(JobIds.Derive("field/a.png", "0x8DC1"));
    }

    [Fact]
    public void A_new_version_or_another_name_gives_another_id()
    {
        var id = JobIds.Derive("a.png", "0x1");
        JobIds.Derive("a.png", "0x2").Should().NotBe(id);
        JobIds.Derive("b.png", "0x1").Should().NotBe(id);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("dir/sub/..%2f..%2fx.png")]
    [InlineData("   ")]
    [InlineData("ÄÖÜ 名前.png")]
    [InlineData("a/b/c/very-long-name-that-goes-on-and-on-and-on-forever.png")]
    public void Ids_are_safe_path_segments_whatever_the_name(string name)
    {
        var id = JobIds.Derive(name, "0xABC");
        JobIds.IsValid(id).Should().BeTrue(id);
        id.Should().NotContain("/").And.NotContain("..");
    }
}
