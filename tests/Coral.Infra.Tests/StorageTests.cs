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
}
