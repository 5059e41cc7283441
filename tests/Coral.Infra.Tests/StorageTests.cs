using Coral.Infra.Tests.Arm;
using Coral.Infra.Tests.Infra;
using Coral.Pipeline.Names;

namespace Coral.Infra.Tests;

[Collection(CompiledInfraCollection.Name)]
public sealed class StorageTests(CompiledInfra infra)
{
    private readonly ArmTemplate _t = infra.Template();

    [Fact]
    public void Every_storage_account_is_identity_only_tls12_and_private()
    {
        var accounts = _t.OfType(InfraQueries.StorageAccount).ToList();
        accounts.Should().HaveCount(3, "one data account and one Functions host account per app");
        foreach (var a in accounts)
        {
            a.Eval("properties.allowSharedKeyAccess").Should().Be(false, a.ToString());
            a.Eval("properties.minimumTlsVersion").Should().Be("TLS1_2", a.ToString());
            a.Eval("properties.allowBlobPublicAccess").Should().Be(false, a.ToString());
            a.Eval("properties.supportsHttpsTrafficOnly").Should().Be(true, a.ToString());
            a.Eval("properties.defaultToOAuthAuthentication").Should().Be(true, a.ToString());
        }
    }

    [Fact]
    public void Containers_are_exactly_the_names_json_containers_and_match_the_generated_constants()
    {
        var created = _t.OfType("Microsoft.Storage/storageAccounts/blobServices/containers").ToList();
        created.Select(c => c.LeafName).Should().BeEquivalentTo(infra.NameGroup("Containers").Values);
        created.Should().OnlyContain(c => ArmExpression.Text(c.Eval("properties.publicAccess")) == "None");
        created.Select(c => c.LeafName).Should().Contain(new[]
        {
            Containers.Incoming, Containers.Scores, Containers.Synthetic, Containers.Manifests, Containers.Curated,
            Containers.Models, Containers.Deployment,
        });
    }

    [Fact]
    public void Queues_are_exactly_the_names_json_queues_including_the_poison_queues()
    {
        var created = _t.OfType("Microsoft.Storage/storageAccounts/queueServices/queues").Select(q => q.LeafName).ToList();
        created.Should().BeEquivalentTo(infra.NameGroup("Queues").Values);
        created.Should().Contain(new[] { Queues.LongtailJobs, Queues.LongtailJobsPoison, Queues.BlobTriggerPoison });
        Queues.LongtailJobsPoison.Should().Be(Queues.LongtailJobs + "-poison", "the Functions host names the poison queue <queue>-poison");
    }

    [Fact]
    public void Lifecycle_policy_expires_old_synthetic_batches()
    {
        var policy = _t.OfType("Microsoft.Storage/storageAccounts/managementPolicies").Single();
        var rules = (List<object?>)policy.Eval("properties.policy.rules")!;
        var synthetic = rules.Cast<Dictionary<string, object?>>().Single(r =>
        {
            var filters = (Dictionary<string, object?>)((Dictionary<string, object?>)r["definition"]!)["filters"]!;
            return ((List<object?>)filters["prefixMatch"]!).Contains(Containers.Synthetic + "/");
        });
        synthetic["enabled"].Should().Be(true);
        var baseBlob = (Dictionary<string, object?>)((Dictionary<string, object?>)((Dictionary<string, object?>)synthetic["definition"]!)["actions"]!)["baseBlob"]!;
        var delete = (Dictionary<string, object?>)baseBlob["delete"]!;
        delete["daysAfterModificationGreaterThan"].Should().Be(90L, "the default retention in main.bicep");
    }
    private ResourceInstance DataAccount(ArmTemplate t) =>
        t.OfType(InfraQueries.StorageAccount).Single(a => a.Name.Contains("data", StringComparison.Ordinal));

    [Fact]
    public void Storage_logs_of_the_data_account_go_to_log_analytics_by_default()
    {
        var settings = _t.OfType("Microsoft.Insights/diagnosticSettings").Where(d => d.ModulePath.Contains("storage", StringComparison.Ordinal)).ToList();
        settings.Should().HaveCount(2, "one for the blob service, one for the queue service");
        foreach (var d in settings)
        {
            ArmExpression.Text(d.Eval("properties.workspaceId")).Should().Contain("deployments/monitoring").And.EndWith("outputs.workspaceId.value", d.ToString());
            var categories = ((List<object?>)d.Eval("properties.logs")!).Cast<Dictionary<string, object?>>()
                .Where(l => l["enabled"] is true).Select(l => (string)l["category"]!).ToList();
            categories.Should().BeEquivalentTo(["StorageRead", "StorageWrite", "StorageDelete"], d.ToString());
        }
        infra.Template(new Dictionary<string, object?> { ["enableStorageDiagnostics"] = false })
            .OfType("Microsoft.Insights/diagnosticSettings").Should().NotContain(d => d.ModulePath.Contains("storage", StringComparison.Ordinal), "the parameter turns them off");
    }

    [Fact]
    public void Uploads_to_the_data_account_are_scanned_for_malware_by_default()
    {
        var defender = _t.OfType("Microsoft.Security/defenderForStorageSettings").Single();
        defender.Eval("properties.isEnabled").Should().Be(true);
        defender.Eval("properties.malwareScanning.onUpload.isEnabled").Should().Be(true);
        defender.Eval("properties.overrideSubscriptionLevelSettings").Should().Be(true);
        Convert.ToInt64(defender.Eval("properties.malwareScanning.onUpload.capGBPerMonth")).Should().BeGreaterThan(0);
        ArmExpression.Text(defender.Eval("scope")).Should().Contain("data", "on the data account, where incoming/ is");
        infra.Template(new Dictionary<string, object?> { ["enableMalwareScanning"] = false })
            .OfType("Microsoft.Security/defenderForStorageSettings").Should().BeEmpty();
    }

    [Fact]
    public void The_storage_firewall_is_open_by_default_and_admits_only_the_apps_subnet_and_listed_ranges_when_given()
    {
        DataAccount(_t).Eval("properties.networkAcls.defaultAction").Should().Be("Allow", "the apps are not VNet-integrated by default");
        const string subnet = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/apps";
        var t = infra.Template(new Dictionary<string, object?> { ["appsSubnetId"] = subnet, ["storageAllowedIpRanges"] = new List<object?> { "203.0.113.0/24" } });
        foreach (var a in t.OfType(InfraQueries.StorageAccount))
        {
            a.Eval("properties.networkAcls.defaultAction").Should().Be("Deny", a.ToString());
            a.Eval("properties.networkAcls.bypass").Should().Be("AzureServices", "Event Grid and Defender are trusted services");
            var vnet = ((List<object?>)a.Eval("properties.networkAcls.virtualNetworkRules")!).Cast<Dictionary<string, object?>>().ToList();
            vnet.Should().ContainSingle().Which["id"].Should().Be(subnet);
            var ips = ((List<object?>)a.Eval("properties.networkAcls.ipRules")!).Cast<Dictionary<string, object?>>().ToList();
            ips.Should().ContainSingle().Which["value"].Should().Be("203.0.113.0/24");
        }
        t.OfType("Microsoft.App/managedEnvironments").Single().Eval("properties.vnetConfiguration.infrastructureSubnetId").Should().Be(subnet,
            "the environment runs in that subnet");
    }
}
