using Coral.Infra.Tests.Arm;
using Coral.Infra.Tests.Infra;
using Coral.Pipeline.Names;

namespace Coral.Infra.Tests;

/// <summary>Longtail introspection in the deployed apps: off by default, keyless (Entra ID) when deployOpenAi is on.</summary>
[Collection(CompiledInfraCollection.Name)]
public sealed class IntrospectionSettingsTests(CompiledInfra infra)
{
    [Fact]
    public void Without_openai_the_generator_has_empty_endpoint_and_deployment_so_introspection_is_off()
    {
        var env = infra.Template().App("generator").Env();
        env.Str(Settings.OpenAiEndpoint).Should().BeEmpty();
        env.Str(Settings.OpenAiDeployment).Should().BeEmpty();
        env.Str(Settings.IntrospectionTimeoutSeconds).Should().Be(Defaults.IntrospectionTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        env.Str(Settings.IntrospectionMaxRetries).Should().Be(Defaults.IntrospectionMaxRetries.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void With_openai_the_generator_gets_the_accounts_endpoint_and_deployment()
    {
        var env = infra.Template(new Dictionary<string, object?> { ["deployOpenAi"] = true }, tolerateUnknown: true).App("generator").Env();
        env.Str(Settings.OpenAiEndpoint).Should().Contain("outputs.endpoint");
        env.Str(Settings.OpenAiDeployment).Should().Contain("outputs.deploymentName");
        env.Str("AZURE_CLIENT_ID").Should().Contain("outputs.generatorClientId", "DefaultAzureCredential uses the generator's user-assigned identity");
    }

    [Fact]
    public void No_app_gets_an_openai_key_and_the_scorer_gets_no_openai_settings()
    {
        // The compiled template embeds all of coral-names.json, so check the Bicep sources instead of its text.
        foreach (var file in Directory.GetFiles(Path.Combine(BicepCli.RepoRoot, "infra"), "*.bicep*", SearchOption.AllDirectories))
            File.ReadAllText(file).Should().NotContain("SecretSettings", $"{Path.GetFileName(file)}: infra is keyless (local auth is off on the OpenAI account)");
        foreach (var parameters in new[] { new Dictionary<string, object?>(), new Dictionary<string, object?> { ["deployOpenAi"] = true } })
        {
            var t = infra.Template(parameters, tolerateUnknown: true);
            t.App("generator").Env().Should().NotContainKey(SecretSettings.OpenAiKey);
            var scorer = t.App("scorer").Env();
            scorer.Should().NotContainKey(Settings.OpenAiEndpoint);
            scorer.Should().NotContainKey(SecretSettings.OpenAiKey);
        }
    }
}
