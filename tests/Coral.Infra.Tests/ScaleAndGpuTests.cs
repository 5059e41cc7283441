using Coral.Infra.Tests.Arm;
using Coral.Infra.Tests.Infra;
using Coral.Pipeline.Names;

namespace Coral.Infra.Tests;

[Collection(CompiledInfraCollection.Name)]
public sealed class ScaleAndGpuTests(CompiledInfra infra)
{
    private const string T4 = "Consumption-GPU-NC8as-T4";
    private const string A100 = "Consumption-GPU-NC24-A100";

    private static List<Dictionary<string, object?>> Profiles(ArmTemplate t) =>
        ((List<object?>)t.OfType("Microsoft.App/managedEnvironments").Single().Eval("properties.workloadProfiles")!)
        .Cast<Dictionary<string, object?>>().ToList();

    [Fact]
    public void Gpu_profile_is_T4_by_default_and_A100_is_the_only_alternative()
    {
        var p = infra.Json.RootElement.GetProperty("parameters").GetProperty("gpuProfileType");
        p.GetProperty("defaultValue").GetString().Should().Be(T4);
        p.GetProperty("allowedValues").EnumerateArray().Select(v => v.GetString()).Should().BeEquivalentTo(T4, A100);

        var profiles = Profiles(infra.Template());
        profiles.Should().Contain(x => x.Str("workloadProfileType") == "Consumption" && x.Str("name") == "Consumption");
        profiles.Should().ContainSingle(x => x.Str("workloadProfileType") == T4);
    }

    [Theory]
    [InlineData(T4, 8.0)]
    [InlineData(A100, 24.0)]
    public void Generator_runs_on_the_selected_gpu_profile(string profile, double cpu)
    {
        var t = infra.Template(new Dictionary<string, object?> { ["gpuProfileType"] = profile });
        var gpu = Profiles(t).Single(x => x.Str("workloadProfileType") == profile);
        var generator = t.App("generator");
        generator.Eval("properties.workloadProfileName").Should().Be(gpu.Str("name"));
        var container = (Dictionary<string, object?>)((List<object?>)generator.Eval("properties.template.containers")!)[0]!;
        Convert.ToDouble(((Dictionary<string, object?>)container["resources"]!)["cpu"], System.Globalization.CultureInfo.InvariantCulture).Should().Be(cpu);
    }

    [Fact]
    public void Generator_scales_from_zero_on_the_job_queue_one_job_per_replica()
    {
        var generator = infra.Template().App("generator");
        generator.Eval("properties.template.scale.minReplicas").Should().Be(0L);
        ((long)generator.Eval("properties.template.scale.maxReplicas")!).Should().BeGreaterThanOrEqualTo(1);
        generator.Eval("properties.template.scale.allowScalingRuleOverride").Should().Be(true,
            "kind 'functionapp' ignores user rules unless the override is on");

        var rules = ((List<object?>)generator.Eval("properties.template.scale.rules")!).Cast<Dictionary<string, object?>>().ToList();
        var queueRule = rules.Should().ContainSingle().Which;
        var q = (Dictionary<string, object?>)queueRule["azureQueue"]!;
        q.Str("queueName").Should().Be(Queues.LongtailJobs);
        q["queueLength"].Should().Be(1L, "one job per replica");
        q.Str("accountName").Should().Contain("outputs.dataAccountName");
        q.Str("identity").Should().Contain("outputs.generatorId", "KEDA reads the queue with the generator's identity, not a connection string");
        queueRule.Should().NotContainKey("custom");
    }

    [Fact]
    public void Generator_is_internal_only_and_scorer_has_https_ingress_for_event_grid()
    {
        var t = infra.Template();
        t.App("generator").Eval("properties.configuration.ingress.external").Should().Be(false, "nothing outside the environment calls the generator");
        var scorer = t.App("scorer");
        scorer.Eval("properties.workloadProfileName").Should().Be("Consumption");
        scorer.Eval("properties.configuration.ingress.external").Should().Be(true);
        scorer.Eval("properties.configuration.ingress.allowInsecure").Should().Be(false);
        scorer.Eval("properties.template.scale.minReplicas").Should().Be(0L);
    }
}
