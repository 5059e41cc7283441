namespace Coral.Data.Tests;

public class IdxReaderTests
{
    private static readonly byte[] Nine = Enumerable.Range(1, 9).Select(i => (byte)i).ToArray();

    private static DatasetFormatException Refused(string path, string messagePart)
    {
        var act = () => IdxReader.ReadBytes(path);
        var e = act.Should().ThrowExactly<DatasetFormatException>().Which;
        e.SourceName.Should().Be(path);
        e.Message.Should().StartWith(path + ": ").And.Contain(messagePart);
        return e;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_shape_and_data_plain_and_gzipped(bool gzip)
    {
        using var dir = new TempDir();
        var idx = TempDir.Idx(0x08, [1, 3, 3], Nine);
        var path = dir.Write(gzip ? "x.idx.gz" : "x.idx", gzip ? TempDir.Gzip(idx) : idx);
        var (shape, data) = IdxReader.ReadBytes(path);
        shape.Should().Equal(1, 3, 3);
        data.Should().Equal(Nine);
    }

    [Fact]
    public void Bad_magic()
    {
        using var dir = new TempDir();
        var bytes = TempDir.Idx(0x08, [9], Nine);
        bytes[0] = 0x1F;
        Refused(dir.Write("magic.idx", bytes), "bad IDX magic 0x1F00");
    }

    [Fact]
    public void Element_types_other_than_unsigned_byte()
    {
        using var dir = new TempDir();
        Refused(dir.Write("f.idx", TempDir.Idx(0x0D, [9], Nine)), "0x0D (float32) is not supported");
        Refused(dir.Write("u.idx", TempDir.Idx(0x42, [9], Nine)), "unknown IDX element type 0x42");
    }

    [Fact]
    public void Rank_outside_1_to_4()
    {
        using var dir = new TempDir();
        Refused(dir.Write("r0.idx", TempDir.Idx(0x08, [], Nine)), "IDX rank 0");
        Refused(dir.Write("r5.idx", TempDir.Idx(0x08, [1, 1, 1, 1, 9], Nine)), "IDX rank 5");
    }

    [Fact]
    public void Non_positive_dimension()
    {
        using var dir = new TempDir();
        Refused(dir.Write("d0.idx", TempDir.Idx(0x08, [3, 0], Nine)), "dimension 1 is 0");
        Refused(dir.Write("dneg.idx", TempDir.Idx(0x08, [-3], Nine)), "dimension 0 is -3");
    }

    [Fact]
    public void Shape_too_large_for_one_array()
    {
        using var dir = new TempDir();
        Refused(dir.Write("huge.idx", TempDir.Idx(0x08, [65536, 65536], Nine)), "is too large");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncated_header_and_data(bool gzip)
    {
        using var dir = new TempDir();
        string Write(string name, byte[] b) => gzip ? dir.Write(name + ".gz", TempDir.Gzip(b)) : dir.Write(name, b);
        Refused(Write("h.idx", [0, 0]), "while reading the 4-byte magic number");
        Refused(Write("dims.idx", TempDir.Idx(0x08, [3, 3], [])[..10]), "while reading dimension 1");
        Refused(Write("data.idx", TempDir.Idx(0x08, [3, 3], Nine[..5])), "truncated")
            .Problem.Should().Contain("5 bytes").And.Contain("9 data bytes for shape [3,3]");
    }

    [Fact]
    public void A_header_claiming_gigabytes_is_not_trusted_for_allocation()
    {
        using var dir = new TempDir();
        var lie = TempDir.Gzip(TempDir.Idx(0x08, [1_000_000, 1000], Nine)); // claims 1 GB, holds 9 bytes
        var path = dir.Write("lie.idx.gz", lie);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Refused(path, "truncated: ended after 9 bytes");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(64L << 20);

        Refused(dir.Write("lie.idx", TempDir.Idx(0x08, [1_000_000, 1000], Nine)), "9 bytes left but the header needs 1000000000 data bytes");
    }

    [Fact]
    public void Trailing_bytes()
    {
        using var dir = new TempDir();
        Refused(dir.Write("t.idx", TempDir.Idx(0x08, [8], Nine)), "trailing bytes after the 8 data bytes");
        Refused(dir.Write("t.idx.gz", TempDir.Gzip(TempDir.Idx(0x08, [8], Nine))), "trailing bytes");
    }

    [Fact]
    public void Missing_file_and_bad_gzip()
    {
        using var dir = new TempDir();
        Refused(dir.File("absent.idx"), "file not found");
        Refused(dir.Write("badgz.idx.gz", [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0x03, 0xFF, 0xFF, 0xFF]), "not a valid gzip stream");
        // Compression is recognised by content, so a plain file named .gz still reads.
        IdxReader.ReadBytes(dir.Write("plain.idx.gz", TempDir.Idx(0x08, [9], Nine))).Data.Should().Equal(Nine);
        IdxReader.ReadBytes(dir.Write("packed.idx", TempDir.Gzip(TempDir.Idx(0x08, [9], Nine)))).Data.Should().Equal(Nine);
    }
}
