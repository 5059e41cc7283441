using System.Text.Json;
using Coral.Infra.Tests.Arm;

namespace Coral.Infra.Tests.Infra;

/// <summary>
/// Runs the Bicep CLI once per test run (build, lint, build-params, in parallel) and shares the results.
/// The compiled template is evaluated with the parameter values that deploy.sh's final pass uses
/// (a blobs_extension key is present, so the Event Grid subscription is part of the deployment).
/// </summary>
public sealed class CompiledInfra : IDisposable
{
    private readonly string _outDir = Path.Combine(Path.GetTempPath(), "coral-infra-tests-" + Guid.NewGuid().ToString("N"));

    public CompiledInfra()
    {
        Directory.CreateDirectory(_outDir);
        MainJsonPath = Path.Combine(_outDir, "main.json");
        var build = Task.Run(() => BicepCli.Run("build", "main.bicep", "--outfile", MainJsonPath));
        // Linting the parameters file lints main.bicep and every module it uses as well (one process, not two).
        var lint = Task.Run(() => BicepCli.Run("lint", "main.bicepparam"));
        var buildParams = Task.Run(() => BicepCli.Run("build-params", "main.bicepparam", "--outfile", Path.Combine(_outDir, "main.parameters.json")));
        Build = build.Result;
        Lint = lint.Result;
        BuildParams = buildParams.Result;
        if (Build.ExitCode != 0 || !File.Exists(MainJsonPath))
            throw new InvalidOperationException("bicep build failed:\n" + Build.AllOutput);
        Text = File.ReadAllText(MainJsonPath);
        Json = JsonDocument.Parse(Text);
        ParametersPath = Path.Combine(_outDir, "main.parameters.json");
        Names = JsonDocument.Parse(File.ReadAllText(BicepCli.NamesJsonPath));
    }

    public string MainJsonPath { get; }
    public string ParametersPath { get; }
    public BicepCli.Result Build { get; }
    /// <summary>`bicep lint main.bicepparam`: diagnostics of the parameters file, main.bicep and all modules.</summary>
    public BicepCli.Result Lint { get; }
    public BicepCli.Result BuildParams { get; }

    /// <summary>The compiled ARM JSON as text (for whole-template scans).</summary>
    public string Text { get; }

    public JsonDocument Json { get; }

    /// <summary>coral-names.json as parsed by a real JSON parser.</summary>
    public JsonDocument Names { get; }

    public const string FakeBlobsExtensionKey = "test-blobs-extension-key";

    /// <summary>The template evaluated with the given top-level parameter values (defaults for the rest).</summary>
    public ArmTemplate Template(IReadOnlyDictionary<string, object?>? parameters = null, bool tolerateUnknown = false)
    {
        var values = new Dictionary<string, object?> { ["scorerBlobsExtensionKey"] = FakeBlobsExtensionKey };
        foreach (var kv in parameters ?? new Dictionary<string, object?>()) values[kv.Key] = kv.Value;
        return new ArmTemplate(Json.RootElement, values, tolerateUnknown);
    }

    public IReadOnlyDictionary<string, string> NameGroup(string group) =>
        Names.RootElement.GetProperty(group).EnumerateObject()
            .Where(p => p.Value.ValueKind == JsonValueKind.String)
            .ToDictionary(p => p.Name, p => p.Value.GetString()!);

    public void Dispose()
    {
        Json.Dispose();
        Names.Dispose();
        try { Directory.Delete(_outDir, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class CompiledInfraCollection : ICollectionFixture<CompiledInfra>
{
    public const string Name = "compiled infra";
}
