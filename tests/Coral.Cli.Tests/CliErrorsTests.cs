using Coral.Testing;
using Coral.Cli.Commands;
using Coral.LocalHost.Azurite;

namespace Coral.Cli.Tests;

/// <summary>"Bad input" is one interface, matched by type: one red line and exit code 2, never a stack trace.</summary>
public class CliErrorsTests
{
    [Fact]
    public async Task Every_typed_input_error_is_exit_code_2()
    {
        Exception[] inputErrors =
        [
            new AzuriteException("azurite not found"),
            new Coral.Imaging.NotAnImageException("x.png"),
            new Coral.Data.DatasetFormatException("train.idx", "truncated"),
            new Coral.Ml.Common.CheckpointCorruptException("m.ckpt", "bad checksum"),
            new Coral.Pipeline.Contracts.PipelineDataException("scores/x.json", "not JSON"),
            new ArgumentException("--count -1 must be 0 or more"),
        ];
        foreach (var e in inputErrors)
            (await CliErrors.RunAsync(() => Task.FromException<int>(e))).Should().Be(CliErrors.BadInput, e.GetType().Name);
        inputErrors.Where(e => e is not ArgumentException).Should().AllBeAssignableTo<ICoralInputError>();
    }

    [Fact]
    public async Task A_bad_argument_is_one_line_on_stderr_and_exit_code_2()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "report", "--size", "abc");
        code.Should().Be(CliErrors.BadInput);
        stderr.Trim().Should().StartWith("error: ").And.Contain("abc").And.NotContain("\n");
        stdout.Should().NotContain("Usage:", "not the whole help");
        var tau = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "train", "classifier", "--logit-adjust", "-1", "--out", Directory.CreateTempSubdirectory("coral-la-").FullName);
        tau.ExitCode.Should().Be(CliErrors.BadInput);
        tau.Stderr.Trim().Should().StartWith("error: ").And.Contain("--logit-adjust").And.Contain("-1");
        tau.Stdout.Should().NotContain("training", "nothing was trained");
    }

    [Fact]
    public async Task Output_paths_are_checked_before_any_work_starts()
    {
        string file = Path.GetTempFileName(), dir = Directory.CreateTempSubdirectory("coral-out-").FullName;
        // generate --out EXISTING_FILE used to fail after the whole sampling run; score --out DIR with a stack trace.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var generate = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "generate", "--class", "Bag", "--count", "1", "--out", file,
            "--diffusion", RepoPaths.Combine("models", "diffusion"), "--classifier", RepoPaths.Combine("models", "classifier"));
        generate.ExitCode.Should().Be(CliErrors.BadInput);
        generate.Stderr.Should().StartWith("error: --out: " + file + " is a file").And.NotContain("   at ");
        generate.Stdout.Should().NotContain("sampling", "nothing was sampled");
        var score = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "score", dir, "--out", dir);
        score.ExitCode.Should().Be(CliErrors.BadInput);
        score.Stderr.Should().StartWith("error: --out: " + dir + " is a folder").And.NotContain("   at ");
    }

    [Fact]
    public async Task An_endless_image_and_unreachable_storage_are_one_line_each()
    {
        var zero = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "generate", "--image", "/dev/zero", "--count", "1",
            "--diffusion", RepoPaths.Combine("models", "diffusion"), "--classifier", RepoPaths.Combine("models", "classifier"));
        zero.ExitCode.Should().Be(CliErrors.BadInput);
        zero.Stderr.Trim().Should().StartWith("error: /dev/zero: image is more than the limit").And.NotContain("\n");
        // Nothing listens on port 1: the SDK's retries give up, and that is one line, not its stack trace.
        const string nowhere = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;";
        var list = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), "review", "list", "--connection", nowhere);
        list.ExitCode.Should().Be(CliErrors.BadInput);
        list.Stderr.Trim().Should().StartWith("error: storage unreachable: ").And.NotContain("\n").And.NotContain("   at ");
    }

    [Fact]
    public async Task A_bug_is_not_reported_as_bad_input()
    {
        var act = () => CliErrors.RunAsync(() => Task.FromException<int>(new InvalidOperationException("bug")));
        await act.Should().ThrowAsync<InvalidOperationException>();
    }
}

/// <summary>Every typed error of ours says whether it is bad input by implementing the one interface.</summary>
public class InputErrorTypesTests
{
    /// <summary>Not the caller's input: transient conditions the hosts retry.</summary>
    private static readonly Type[] NotInputErrors = [typeof(Coral.Pipeline.Generation.JobBusyException)];

    [Fact]
    public void Every_coral_exception_type_is_an_input_error_unless_it_is_transient()
    {
        var assemblies = new[]
        {
            typeof(Coral.Imaging.ImageDecodeException), typeof(Coral.Data.DatasetFormatException), typeof(Coral.Ml.TorchUnavailableException),
            typeof(Coral.Diffusion.DiffusionInputException), typeof(Coral.Pipeline.PipelineServices), typeof(Coral.Pipeline.Models.ModelUnavailableException),
            typeof(AzuriteException),
        }.Select(t => t.Assembly).Distinct();
        var exceptions = assemblies.SelectMany(a => a.GetTypes()).Where(t => typeof(Exception).IsAssignableFrom(t) && t.IsPublic).ToList();

        exceptions.Should().HaveCountGreaterThan(10);
        exceptions.Except(NotInputErrors).Should().OnlyContain(t => typeof(ICoralInputError).IsAssignableFrom(t));
    }
}
