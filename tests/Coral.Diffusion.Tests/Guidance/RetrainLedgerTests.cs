using Coral.Diffusion.Guidance;

namespace Coral.Diffusion.Tests.Guidance;

public class RetrainLedgerTests
{
    [Fact]
    public void Finished_fine_tunes_come_back_under_the_same_fingerprint_only_and_a_torn_line_is_skipped()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("coral-ledger-").FullName, RetrainLedger.FileName);
        string fp = RetrainLedger.FingerprintOf(new { n = 64, m = 8 });
        RetrainLedger.FingerprintOf(new { n = 64, m = 8 }).Should().Be(fp, "the fingerprint is stable");
        RetrainLedger.FingerprintOf(new { n = 64, m = 9 }).Should().NotBe(fp);

        var ledger = new RetrainLedger(path, fp);
        ledger.Count.Should().Be(0);
        ledger.Add(new RetrainLedger.Entry(fp, 0, "ltg", 0.75, 0.8, [0.5, 1.0], 192, System.Text.Json.Nodes.JsonNode.Parse("""{"meanSignal":0.3}""")));
        ledger.Add(new RetrainLedger.Entry(fp, 1, "none", 0.7, 0.79, [0.4, 1.0], 0, null));
        File.AppendAllText(path, """{"Fingerprint":"%%%""" + "\n");   // a crash mid-write
        var other = RetrainLedger.FingerprintOf(new { n = 16, m = 8 });
        new RetrainLedger(path, other).Add(new RetrainLedger.Entry(other, 0, "ltg", 0.1, 0.1, [0.1, 0.1], 48, null));

        var reopened = new RetrainLedger(path, fp);
        reopened.Count.Should().Be(2);
        reopened.TryGet(0, "ltg", out var e).Should().BeTrue();
        e.Tail.Should().Be(0.75);
        e.PerClass.Should().Equal(0.5, 1.0);
        e.Added.Should().Be(192);
        e.Generation!["meanSignal"]!.GetValue<double>().Should().Be(0.3);
        reopened.TryGet(0, "none", out _).Should().BeFalse();
        new RetrainLedger(path, other).Count.Should().Be(1);
        var wrong = () => reopened.Add(new RetrainLedger.Entry(other, 2, "ltg", 0, 0, [], 0, null));
        wrong.Should().Throw<ArgumentException>();
    }
}
