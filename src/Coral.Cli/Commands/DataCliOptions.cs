using System.CommandLine;
using Coral.Data;

namespace Coral.Cli.Commands;

/// <summary>The data options every training, evaluation and data command shares: one way to name your images.</summary>
internal sealed class DataCliOptions
{
    public Option<string> Data { get; } = new("--data")
    {
        Description = "image folder (one sub-folder per class: PNG/JPEG of any size, colour or gray) or a Fashion-MNIST IDX folder",
        DefaultValueFactory = _ => FashionMnist.DefaultDirectory,
    };
    public Option<string?> TestData { get; } = new("--test-data") { Description = "a second image folder with the same classes as the test set (default: the tool holds out a stratified part)" };
    public Option<int?> Size { get; } = new("--size") { Description = "resize every image to SIZE x SIZE (default: the images' own size)" };
    public Option<double> TestFraction { get; } = new("--test-fraction") { Description = "share of each class held out as the test set when no --test-data is given", DefaultValueFactory = _ => new DataOptions().TestFraction };
    public Option<double?> Imbalance { get; } = new("--imbalance") { Description = "ρ = n_min/n_max of a long-tailed subsample (1 = the data as it is; default 0.01 for the built-in Fashion-MNIST, 1 for a folder)" };

    public IEnumerable<Option> All => [Data, TestData, Size, TestFraction, Imbalance];

    public void AddTo(Command command) { foreach (var o in All) command.Options.Add(o); }

    public DataOptions Read(ParseResult parse, int splitSeed = 0) => new()
    {
        Path = parse.GetValue(Data)!, TestPath = parse.GetValue(TestData), Size = parse.GetValue(Size),
        TestFraction = parse.GetValue(TestFraction), SplitSeed = splitSeed,
    };
}
