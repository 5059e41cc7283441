using System.Text.Json.Nodes;
using Coral.Pipeline.Names;
using Coral.Testing;

namespace Coral.Functions.Tests;

/// <summary>
/// The bindings as the Functions host reads them: functions.metadata, written by the real worker SDK into each
/// built app. Every trigger, binding, source, connection and queue name must be the shared one.
/// </summary>
public class FunctionsMetadataTests
{
    private static JsonObject SingleFunction(string app)
    {
        var path = Path.Combine(RepoPaths.BuildOutput(app), "functions.metadata");
        File.Exists(path).Should().BeTrue($"the worker SDK writes {path} at build time");
        var functions = JsonNode.Parse(File.ReadAllText(path))!.AsArray();
        functions.Should().ContainSingle($"{app} hosts one function");
        return functions[0]!.AsObject();
    }

    private static string? Text(JsonNode? node, string key) => node?[key]?.GetValue<string>();

    [Fact]
    public void Scorer_is_one_event_grid_blob_trigger_on_incoming_with_one_queue_output_to_the_job_queue()
    {
        var fn = SingleFunction("Coral.Functions.Scorer");
        Text(fn, "name").Should().Be(FunctionNames.Score);
        Text(fn, "language").Should().Be("dotnet-isolated");
        Text(fn, "entryPoint").Should().Be("Coral.Functions.Scorer.ScoreFunction.Run");
        var bindings = fn["bindings"]!.AsArray();
        bindings.Should().HaveCount(2, "the trigger and the job message output");

        var trigger = bindings.Single(b => Text(b, "direction") == "In");
        Text(trigger, "type").Should().Be("blobTrigger");
        Text(trigger, "path").Should().Be(Containers.Incoming + "/{name}");
        Text(trigger, "source").Should().Be("EventGrid", "Flex Consumption and the Event Grid subscription need the EventGrid source");
        Text(trigger, "connection").Should().Be(Settings.StorageConnection);

        var output = bindings.Single(b => Text(b, "direction") == "Out");
        Text(output, "type").Should().Be("queue");
        Text(output, "queueName").Should().Be(Queues.LongtailJobs);
        Text(output, "connection").Should().Be(Settings.StorageConnection);
    }

    [Fact]
    public void Generator_is_one_queue_trigger_on_the_job_queue_with_no_other_binding()
    {
        var fn = SingleFunction("Coral.Functions.Generator");
        Text(fn, "name").Should().Be(FunctionNames.Generate);
        Text(fn, "language").Should().Be("dotnet-isolated");
        Text(fn, "entryPoint").Should().Be("Coral.Functions.Generator.GenerateFunction.Run");
        var bindings = fn["bindings"]!.AsArray();
        bindings.Select(b => Text(b, "direction")).Should().Equal(["In"], "outputs are written by the handler, idempotently, not by bindings");

        var trigger = bindings[0]!;
        Text(trigger, "type").Should().Be("queueTrigger");
        Text(trigger, "queueName").Should().Be(Queues.LongtailJobs);
        Text(trigger, "connection").Should().Be(Settings.StorageConnection);
    }

    [Fact]
    public void Scorer_app_ships_no_diffusion_code()
    {
        var deps = File.ReadAllText(Path.Combine(RepoPaths.BuildOutput("Coral.Functions.Scorer"), "Coral.Functions.Scorer.deps.json"));
        deps.Should().Contain("Coral.Pipeline.Models/").And.NotContain("Coral.Diffusion").And.NotContain("Coral.Pipeline.Models.Diffusion");
    }

    [Theory]
    [InlineData("Coral.Functions.Scorer")]
    [InlineData("Coral.Functions.Generator")]
    public void Built_apps_carry_the_worker_config_and_extension_bundle(string app)
    {
        var dir = RepoPaths.BuildOutput(app);
        File.Exists(Path.Combine(dir, "worker.config.json")).Should().BeTrue("the host starts the worker from it");
        Directory.Exists(Path.Combine(dir, ".azurefunctions")).Should().BeTrue("the storage extensions the host loads");
    }
}
