using System.Text.Json;
using System.Text.RegularExpressions;
using Coral.Infra.Tests.Arm;
using Coral.Infra.Tests.Infra;

namespace Coral.Infra.Tests;

[Collection(CompiledInfraCollection.Name)]
public sealed class NoSecretsTests(CompiledInfra infra)
{
    [Theory]
    [InlineData(@"\blist[A-Za-z]*\(", "no listKeys/listCredentials/listAccountSas/... calls")]
    [InlineData(@"AccountKey", "no storage account keys")]
    [InlineData(@"DefaultEndpointsProtocol", "no storage connection strings")]
    [InlineData(@"SharedAccessSignature|[?&]sig=|\bsv=20", "no SAS tokens")]
    [InlineData(@"""sharedKey""|primarySharedKey|secondarySharedKey|primaryKey|secondaryKey|InstrumentationKey=", "no shared keys (Log Analytics, App Insights)")]
    [InlineData(@"passwordSecretRef|adminPassword|""password""", "no registry or other passwords")]
    public void Compiled_template_contains_no_keys_or_sas(string pattern, string because)
    {
        Regex.IsMatch(infra.Text, pattern, RegexOptions.IgnoreCase).Should().BeFalse(because);
    }

    [Fact]
    public void Container_apps_hold_no_secrets()
    {
        foreach (var app in infra.Template().OfType(InfraQueries.ContainerApp))
        {
            if (app.Has("properties.configuration.secrets"))
                ((List<object?>)app.Eval("properties.configuration.secrets")!).Should().BeEmpty(app.ToString());
            foreach (Dictionary<string, object?> reg in ((List<object?>)app.Eval("properties.configuration.registries")!).Cast<Dictionary<string, object?>>())
            {
                reg.Should().ContainKey("identity", "images are pulled with the app's managed identity");
                reg.Should().NotContainKey("username");
            }
            app.Env().Values.Select(ArmExpression.Text).Should().NotContain(v => v.Contains("AccountKey", StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public void Local_auth_is_disabled_on_registry_insights_and_openai()
    {
        var t = infra.Template(new Dictionary<string, object?> { ["deployOpenAi"] = true }, tolerateUnknown: true);
        t.OfType("Microsoft.ContainerRegistry/registries").Single().Eval("properties.adminUserEnabled").Should().Be(false);
        t.OfType("Microsoft.ContainerRegistry/registries").Single().Eval("properties.anonymousPullEnabled").Should().Be(false);
        t.OfType("Microsoft.Insights/components").Single().Eval("properties.DisableLocalAuth").Should().Be(true);
        t.OfType("Microsoft.CognitiveServices/accounts").Single().Eval("properties.disableLocalAuth").Should().Be(true);
        t.OfType("Microsoft.App/managedEnvironments").Single().Eval("properties.appLogsConfiguration.destination")
            .Should().Be("azure-monitor", "the log-analytics destination would need the workspace shared key");
    }

    [Fact]
    public void The_only_credential_input_is_the_hosts_webhook_key_as_a_secure_parameter_never_output()
    {
        var parameters = infra.Json.RootElement.GetProperty("parameters");
        var secure = parameters.EnumerateObject()
            .Where(p => p.Value.GetProperty("type").GetString()!.StartsWith("secure", StringComparison.OrdinalIgnoreCase))
            .Select(p => p.Name).ToList();
        secure.Should().BeEquivalentTo("scorerBlobsExtensionKey");
        parameters.GetProperty("scorerBlobsExtensionKey").GetProperty("defaultValue").GetString().Should().BeEmpty();
        infra.Json.RootElement.GetProperty("outputs").GetRawText().Should().NotContain("scorerBlobsExtensionKey");
    }
}
