using Coral.Infra.Tests.Arm;
using Coral.Infra.Tests.Infra;
using Coral.Pipeline.Names;

namespace Coral.Infra.Tests;

/// <summary>
/// Every role assignment in the compiled template, reduced to (identity, role, scope), must equal the
/// least-privilege set below: no more (a broader role or scope fails) and no less (a missing grant fails).
/// </summary>
[Collection(CompiledInfraCollection.Name)]
public sealed class RbacTests(CompiledInfra infra)
{
    // Built-in role definition ids.
    private const string BlobReader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    private const string BlobContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string BlobOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string QueueContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string QueueSender = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a";
    private const string TableContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
    private const string MetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string OpenAiUser = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";

    public sealed record Grant(string Who, string Role, string Scope)
    {
        public override string ToString() => $"{Who} {RoleName(Role)} on {Scope}";
    }

    private static string RoleName(string id) => id switch
    {
        BlobReader => "Storage Blob Data Reader",
        BlobContributor => "Storage Blob Data Contributor",
        BlobOwner => "Storage Blob Data Owner",
        QueueContributor => "Storage Queue Data Contributor",
        QueueSender => "Storage Queue Data Message Sender",
        TableContributor => "Storage Table Data Contributor",
        AcrPull => "AcrPull",
        MetricsPublisher => "Monitoring Metrics Publisher",
        OpenAiUser => "Cognitive Services OpenAI User",
        _ => id,
    };

    /// <summary>The least-privilege set. Scorer: read incoming, write scores (+ staging for temp-then-commit),
    /// send to the job queue (the score record is the receipt; in Azure the Functions host keeps its own blob-trigger state). Generator: process the job queue, read models + incoming, write
    /// synthetic + manifests (+ staging). Queue Data Contributor on exactly one queue where the Functions host
    /// must update message visibility or create-if-missing (the Processor/Sender roles lack messages/write).</summary>
    private static IEnumerable<Grant> Expected(bool withOpenAi)
    {
        string C(string c) => "data/container/" + c;
        string Q(string q) => "data/queue/" + q;
        yield return new("scorer", BlobReader, C(Containers.Incoming));
        yield return new("scorer", BlobContributor, C(Containers.Scores));
        yield return new("scorer", BlobContributor, C(Containers.Staging));
        yield return new("scorer", QueueSender, Q(Queues.LongtailJobs));
        yield return new("scorer", QueueContributor, Q(Queues.BlobTriggerPoison));
        yield return new("scorer", BlobOwner, "host/scorer");
        yield return new("scorer", QueueContributor, "host/scorer");
        yield return new("scorer", TableContributor, "host/scorer");
        yield return new("scorer", AcrPull, "registry");
        yield return new("scorer", MetricsPublisher, "appinsights");

        yield return new("generator", BlobReader, C(Containers.Models));
        yield return new("generator", BlobReader, C(Containers.Incoming));
        yield return new("generator", BlobContributor, C(Containers.Synthetic));
        yield return new("generator", BlobContributor, C(Containers.Manifests));
        yield return new("generator", BlobContributor, C(Containers.Staging));
        yield return new("generator", QueueContributor, Q(Queues.LongtailJobs));
        yield return new("generator", QueueSender, Q(Queues.LongtailJobsPoison));
        yield return new("generator", BlobOwner, "host/generator");
        yield return new("generator", QueueContributor, "host/generator");
        yield return new("generator", TableContributor, "host/generator");
        yield return new("generator", AcrPull, "registry");
        yield return new("generator", MetricsPublisher, "appinsights");
        if (withOpenAi) yield return new("generator", OpenAiUser, "openai");

        yield return new("eventGrid", BlobContributor, C(Containers.EventGridDeadLetter));
    }

    private static List<Grant> Actual(ArmTemplate t)
    {
        var grants = new List<Grant>();
        foreach (var ra in t.OfType(InfraQueries.RoleAssignment))
        {
            ra.Has("scope").Should().BeTrue($"{ra} must name its scope (no resource-group-wide grants)");
            ArmExpression.Text(ra.Eval("properties.principalType")).Should().Be("ServicePrincipal");

            var roleId = ArmExpression.Text(ra.Eval("properties.roleDefinitionId"));
            roleId.Should().StartWith("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/",
                "built-in roles only, referenced at subscription scope");
            var role = roleId.Split('/')[^1];

            var principal = ArmExpression.Text(ra.Eval("properties.principalId"));
            string who = principal switch
            {
                _ when principal.Contains("outputs.scorerPrincipalId", StringComparison.Ordinal) => "scorer",
                _ when principal.Contains("outputs.generatorPrincipalId", StringComparison.Ordinal) => "generator",
                _ when principal.Contains("outputs.topicPrincipalId", StringComparison.Ordinal) => "eventGrid",
                _ => "unknown principal " + principal,
            };

            grants.Add(new Grant(who, role, DescribeScope(ArmExpression.Text(ra.Eval("scope")))));
        }
        return grants;
    }

    private static string DescribeScope(string scope)
    {
        string After(string marker) => scope[(scope.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..];
        if (scope.Contains("outputs.dataAccountName", StringComparison.Ordinal))
        {
            if (scope.Contains("/blobServices/default/containers/", StringComparison.Ordinal)) return "data/container/" + After("/containers/");
            if (scope.Contains("/queueServices/default/queues/", StringComparison.Ordinal)) return "data/queue/" + After("/queues/");
            return "data/ACCOUNT-WIDE " + scope;
        }
        if (scope.Contains("outputs.scorerRuntimeAccountName", StringComparison.Ordinal) && scope.EndsWith(".value", StringComparison.Ordinal)) return "host/scorer";
        if (scope.Contains("outputs.generatorRuntimeAccountName", StringComparison.Ordinal) && scope.EndsWith(".value", StringComparison.Ordinal)) return "host/generator";
        if (scope.Contains("/Microsoft.ContainerRegistry/registries/", StringComparison.Ordinal)) return "registry";
        if (scope.Contains("/Microsoft.Insights/components/", StringComparison.Ordinal)) return "appinsights";
        if (scope.Contains("/Microsoft.CognitiveServices/accounts/", StringComparison.Ordinal)) return "openai";
        return "UNRECOGNISED " + scope;
    }

    [Fact]
    public void Role_assignments_are_exactly_the_least_privilege_set()
    {
        var actual = Actual(infra.Template());
        actual.Should().OnlyHaveUniqueItems();
        actual.Should().BeEquivalentTo(Expected(withOpenAi: false));
    }

    [Fact]
    public void Every_identity_gets_only_roles_from_its_own_set()
    {
        var expected = Expected(withOpenAi: true).ToList();
        foreach (var who in new[] { "scorer", "generator", "eventGrid" })
        {
            var allowedRoles = expected.Where(g => g.Who == who).Select(g => g.Role).ToHashSet();
            Actual(infra.Template()).Where(g => g.Who == who).Should().OnlyContain(g => allowedRoles.Contains(g.Role), who);
        }
    }

    [Fact]
    public void No_data_role_is_account_wide_on_the_data_account_and_nobody_touches_curated()
    {
        var actual = Actual(infra.Template());
        actual.Should().NotContain(g => g.Scope.StartsWith("data/ACCOUNT-WIDE", StringComparison.Ordinal));
        actual.Should().NotContain(g => g.Scope.StartsWith("UNRECOGNISED", StringComparison.Ordinal));
        actual.Should().NotContain(g => g.Scope == "data/container/" + Containers.Curated, "curation is a human review step, not an app's");
        actual.Should().NotContain(g => g.Role == BlobOwner && g.Scope.StartsWith("data/", StringComparison.Ordinal));
    }

    [Fact]
    public void The_openai_role_goes_to_the_generator_only_when_openai_is_deployed()
    {
        var rbac = infra.Json.RootElement.GetRawText();
        rbac.Should().Contain(OpenAiUser);
        // With deployOpenAi=true the grant list depends on a deployment-time value; check the grant table instead.
        var t = infra.Template(new Dictionary<string, object?> { ["deployOpenAi"] = true }, tolerateUnknown: true);
        var module = t.OfType("Microsoft.Resources/deployments").Single(d => d.Name == "rbac");
        module.Raw.GetProperty("properties").GetProperty("template").GetProperty("variables").GetProperty("openAiGrants").GetString()
            .Should().Contain("createObject('who', 'generator', 'role', variables('roles').openAiUser");
    }
}
