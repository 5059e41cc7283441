using System.Text.Json;

namespace Coral.Cli.Tests;

/// <summary>The short version of `coral bench pipeline` (the full 500 + 2,000 run is in docs/results/pipeline-bench.json).</summary>
public class BenchPipelineTests
{
    [Fact]
    public async Task A_small_score_only_run_measures_the_roof_and_every_arrival_and_writes_the_fields_the_results_page_reads()
    {
        string dir = Directory.CreateTempSubdirectory("coral-bench-pipeline-").FullName;
        string report = Path.Combine(dir, "bench.json");

        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(4), "bench", "pipeline", "--count", "40", "--generator", "none",
            "--steady-rate", "20", "--repeat", "2", "--out", report);

        code.Should().Be(0, stdout + stderr);
        stdout.Should().Contain("storage roof").And.Contain("verdict:");
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var run = json.RootElement.GetProperty("runs")[0];
        run.GetProperty("inputs").GetInt32().Should().Be(90, "40 real images and the 50 hostile blobs");
        run.GetProperty("storageRoofBlobsPerSecond").GetDouble().Should().BePositive();
        run.GetProperty("blobsPerSecond").GetDouble().Should().BePositive();
        run.GetProperty("p95SteadySeconds").GetDouble().Should().BePositive();
        run.GetProperty("p95BurstSeconds").GetDouble().Should().BePositive();
        (run.GetProperty("lost").GetInt32(), run.GetProperty("duplicated").GetInt32()).Should().Be((0, 0));
        run.GetProperty("runs").GetArrayLength().Should().Be(2, "--repeat 2: the numbers above are medians of two runs");
        run.GetProperty("runs")[1].GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("arrival").GetString())
            .Should().Equal("backlog", "burst", "steady 20/s");
        run.GetProperty("fractionOfRoofPerRun").EnumerateArray().Should().HaveCount(2).And.OnlyContain(f => f.GetDouble() > 0);
        json.RootElement.GetProperty("verdict").GetProperty("status").GetString().Should().NotBe("met", "one size cannot show that throughput holds at 2,000");
        json.RootElement.GetProperty("ok").GetBoolean().Should().BeTrue();
    }
}
