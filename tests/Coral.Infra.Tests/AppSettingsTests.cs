using System.Text.RegularExpressions;
using Coral.Infra.Tests.Arm;
using Coral.Infra.Tests.Infra;
using Coral.Pipeline.Names;

namespace Coral.Infra.Tests;

[Collection(CompiledInfraCollection.Name)]
public sealed class AppSettingsTests(CompiledInfra infra)
{
    private readonly ArmTemplate _t = infra.Template();

    public static TheoryData<string> Apps => new() { "scorer", "generator" };

    /// <summary>A setting is configured when it is set itself or as an identity-based connection prefix (name__...).</summary>
    private static bool Configured(Dictionary<string, object?> env, string setting) =>
        env.ContainsKey(setting) || env.Keys.Any(k => k.StartsWith(setting + "__", StringComparison.Ordinal));

    [Theory]
    [MemberData(nameof(Apps))]
    public void Each_app_is_a_functions_container_app_with_its_own_user_assigned_identity(string module)
    {
        var app = _t.App(module);
        app.Eval("kind").Should().Be("functionapp");
        app.Eval("identity.type").Should().Be("UserAssigned");
        var ids = ((Dictionary<string, object?>)app.Eval("identity.userAssignedIdentities")!).Keys.ToList();
        ids.Should().ContainSingle().Which.Should().Contain($"outputs.{module}Id");
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void Storage_connections_are_identity_based_with_the_apps_client_id(string module)
    {
        var env = _t.App(module).Env();
        foreach (var connection in new[] { "AzureWebJobsStorage", Settings.StorageConnection })
        {
            env.Should().NotContainKey(connection, "a bare connection setting would be a connection string");
            env.Should().ContainKey(connection + "__blobServiceUri");
            env.Should().ContainKey(connection + "__queueServiceUri");
            env.Str(connection + "__credential").Should().Be("managedidentity");
            env.Str(connection + "__clientId").Should().Contain($"outputs.{module}ClientId");
        }
        env.Str(Settings.StorageBlobServiceUri).Should().Contain("outputs.dataBlobEndpoint");
        env.Str(Settings.StorageQueueServiceUri).Should().Contain("outputs.dataQueueEndpoint");
        env.Str("AzureWebJobsStorage__blobServiceUri").Should().Contain($"outputs.{module}RuntimeEndpoints",
            "the Functions host uses the app's own host account, not the data account");
        env.Str("AZURE_CLIENT_ID").Should().Contain($"outputs.{module}ClientId", "DefaultAzureCredential picks the user-assigned identity from it");
        env.Str("APPLICATIONINSIGHTS_AUTHENTICATION_STRING").Should().Contain("Authorization=AAD").And.Contain($"outputs.{module}ClientId");
        env.Str("FUNCTIONS_WORKER_RUNTIME").Should().Be("dotnet-isolated");
    }

    [Fact]
    public void Every_setting_in_the_names_json_is_configured_in_the_apps()
    {
        var scorer = _t.App("scorer").Env();
        var generator = _t.App("generator").Env();
        foreach (var (key, setting) in infra.NameGroup("Settings"))
            (Configured(scorer, setting) || Configured(generator, setting)).Should().BeTrue($"Settings.{key} = '{setting}' is read by the code");
    }

    [Fact]
    public void Settings_with_a_shared_default_are_deployed_with_that_default()
    {
        var defaults = infra.Names.RootElement.GetProperty("Defaults");
        foreach (var app in new[] { _t.App("scorer").Env(), _t.App("generator").Env() })
            foreach (var (key, setting) in infra.NameGroup("Settings"))
                if (app.ContainsKey(setting) && defaults.TryGetProperty(key, out var d))
                    app.Str(setting).Should().Be(d.ToString(), $"{setting} should equal Defaults.{key}");
    }

    /// <summary>Reads the function classes and handlers: every setting they reference (Settings.X constants,
    /// Connection = "...", GetEnvironmentVariable("...")) must be configured in the app that runs them.</summary>
    [Theory]
    [MemberData(nameof(Apps))]
    public void Every_setting_the_apps_code_reads_is_configured(string module)
    {
        var projectDir = Path.Combine(BicepCli.RepoRoot, "src", module == "scorer" ? "Coral.Functions.Scorer" : "Coral.Functions.Generator");
        var sources = Directory.Exists(projectDir)
            ? Directory.GetFiles(projectDir, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")).ToList()
            : [];
        sources.Should().NotBeEmpty($"{projectDir} holds the function classes");
        var settings = infra.NameGroup("Settings");
        var env = _t.App(module).Env();
        foreach (var file in sources)
        {
            var code = File.ReadAllText(file);
            foreach (Match m in Regex.Matches(code, @"\bSettings\.(\w+)"))
            {
                settings.Should().ContainKey(m.Groups[1].Value, $"{Path.GetFileName(file)} uses Settings.{m.Groups[1].Value}");
                Configured(env, settings[m.Groups[1].Value]).Should().BeTrue($"{Path.GetFileName(file)} reads {settings[m.Groups[1].Value]}");
            }
            foreach (Match m in Regex.Matches(code, @"(?:Connection\s*=\s*|GetEnvironmentVariable\(\s*)""([^""]+)"""))
                Configured(env, m.Groups[1].Value).Should().BeTrue($"{Path.GetFileName(file)} reads the literal setting {m.Groups[1].Value}");
        }
    }

    [Fact]
    public void Generator_takes_one_message_at_a_time()
    {
        var env = _t.App("generator").Env();
        env.Str("AzureFunctionsJobHost__extensions__queues__batchSize").Should().Be("1");
        env.Str("AzureFunctionsJobHost__extensions__queues__newBatchThreshold").Should().Be("0");
    }

    [Fact]
    public void Event_grid_webhook_targets_the_scorers_blob_trigger_function_by_its_real_name()
    {
        var source = Path.Combine(BicepCli.RepoRoot, "src", "Coral.Functions.Scorer");
        var code = string.Join("\n", Directory.GetFiles(source, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/")).Select(File.ReadAllText));
        code.Should().Contain("BlobTriggerSource.EventGrid", "Event Grid delivers to the blobs extension only for EventGrid-source triggers");
        // Code and Bicep take the name from coral-names.json; the built app's functions.metadata proves the code side.
        code.Should().Contain("[Function(FunctionNames.Score)]");
        File.ReadAllText(Path.Combine(BicepCli.RepoRoot, "infra", "modules", "eventgrid-subscription.bicep"))
            .Should().Contain("Host.Functions.${names.FunctionNames.Score}");
        infra.Json.RootElement.GetProperty("parameters").TryGetProperty("scorerFunctionName", out _)
            .Should().BeFalse("the function name is not a deployment choice: it is the code's");
    }
}
