using Coral.Infra.Tests.Arm;

namespace Coral.Infra.Tests.Infra;

/// <summary>Shared look-ups over the evaluated template.</summary>
public static class InfraQueries
{
    public const string ContainerApp = "Microsoft.App/containerApps";
    public const string StorageAccount = "Microsoft.Storage/storageAccounts";
    public const string RoleAssignment = "Microsoft.Authorization/roleAssignments";

    /// <summary>The container app deployed by a module ("scorer" or "generator").</summary>
    public static ResourceInstance App(this ArmTemplate t, string module) =>
        t.OfType(ContainerApp).Single(r => r.ModulePath == module);

    /// <summary>The app's container environment variables, name → value.</summary>
    public static Dictionary<string, object?> Env(this ResourceInstance app)
    {
        var containers = (List<object?>)app.Eval("properties.template.containers")!;
        containers.Should().ContainSingle("each function app runs one container");
        var container = (Dictionary<string, object?>)containers[0]!;
        var env = (List<object?>)container["env"]!;
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (Dictionary<string, object?> e in env.Cast<Dictionary<string, object?>>())
        {
            e.Should().NotContainKey("secretRef", "settings are plain values: there are no secrets to reference");
            var name = ArmExpression.Text(e["name"]);
            result.Should().NotContainKey(name, "each setting is set once");
            result[name] = e.TryGetValue("value", out var v) ? v : null;
        }
        return result;
    }

    public static string Str(this Dictionary<string, object?> o, string key) => ArmExpression.Text(o[key]);
}
