using System.Diagnostics;
using System.Reflection;
using Coral.Functions.Generator;
using Coral.Functions.Scorer;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Coral.Functions.Tests;

/// <summary>
/// Each app's real Program.cs builds its real host (isolated worker, Application Insights, the pipeline); the test
/// takes the built host instead of running it, and resolves the function class as the worker's activator will.
/// </summary>
[Collection(ProgramHostCollection.Name)]
public class ProgramHostTests
{
    [Fact]
    public void Scorer_host_resolves_its_function_with_the_shipped_classifier()
    {
        using var host = ProgramHost.Build(typeof(ScoreFunction).Assembly);

        var function = ActivatorUtilities.CreateInstance<ScoreFunction>(host.Services);

        function.Should().NotBeNull();
        host.Services.GetRequiredService<IImageScorer>().ModelVersion.Should().StartWith("classifier-");
        host.Services.GetService<ILongtailBatchGenerator>().Should().BeNull("the scorer app carries no diffusion code");
        // Concurrent invocations in one worker share one batcher, so their images share forward passes.
        var batcher = host.Services.GetRequiredService<ScoringBatcher>();
        host.Services.GetRequiredService<ScoreHandler>().Batcher.Should().BeSameAs(batcher);
        batcher.MaxBatch.Should().Be(Coral.Pipeline.Names.Defaults.ScorerBatchSize);
    }

    [Fact]
    public void Generator_host_resolves_its_function_and_loads_the_classifier_once_as_the_guide()
    {
        using var host = ProgramHost.Build(typeof(GenerateFunction).Assembly);

        var function = ActivatorUtilities.CreateInstance<GenerateFunction>(host.Services);

        function.Should().NotBeNull();
        host.Services.GetRequiredService<ILongtailBatchGenerator>().DiffusionModel.Should().StartWith("diffusion-");
        host.Services.GetService<IImageScorer>().Should().BeNull("the generator's only classifier is the guide inside the LTG generator");
    }
}

/// <summary>The two host tests set process-wide settings and listen to process-wide events: never in parallel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProgramHostCollection
{
    public const string Name = "ProgramHost";
}

/// <summary>
/// Runs an app's entry point until its host is built and hands that host back instead of running it, the way
/// WebApplicationFactory does: Microsoft.Extensions.Hosting reports every built host on its DiagnosticListener.
/// </summary>
internal static class ProgramHost
{
    // Identity-based storage (no network until a client is used), as the apps get it in Azure.
    private static readonly (string Name, string Value)[] AppSettings =
    [
        (Settings.StorageBlobServiceUri, "https://coraltest.blob.core.windows.net"),
        (Settings.StorageQueueServiceUri, "https://coraltest.queue.core.windows.net"),
    ];

    public static IHost Build(Assembly app)
    {
        foreach (var (name, value) in AppSettings) Environment.SetEnvironmentVariable(name, value);
        var built = new HostCatcher();
        using var subscription = DiagnosticListener.AllListeners.Subscribe(built);
        try
        {
            app.EntryPoint!.Invoke(null, [Array.Empty<string>()]);
        }
        catch (TargetInvocationException e) when (e.InnerException is HostCatcher.Caught) { }
        finally
        {
            foreach (var (name, _) in AppSettings) Environment.SetEnvironmentVariable(name, null);
        }
        return built.Host ?? throw new InvalidOperationException($"{app.GetName().Name}'s Program built no host");
    }

    private sealed class HostCatcher : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
    {
        public sealed class Caught : Exception;

        public IHost? Host { get; private set; }

        public void OnNext(DiagnosticListener listener)
        {
            if (listener.Name == "Microsoft.Extensions.Hosting") listener.Subscribe(this);
        }

        public void OnNext(KeyValuePair<string, object?> e)
        {
            if (e.Key != "HostBuilt" || Host is not null) return;
            Host = (IHost)e.Value!;
            throw new Caught(); // stop Program before Run(): the host is all the test needs
        }

        public void OnCompleted() { }
        public void OnError(Exception error) { }
    }
}
