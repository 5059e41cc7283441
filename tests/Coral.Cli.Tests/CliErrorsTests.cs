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
    public async Task A_bug_is_not_reported_as_bad_input()
    {
        var act = () => CliErrors.RunAsync(() => Task.FromException<int>(new InvalidOperationException("bug")));
        await act.Should().ThrowAsync<InvalidOperationException>();
    }
}
