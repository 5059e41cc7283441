using Coral.Pipeline.Generation;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coral.LocalHost.Serving;

/// <summary>
/// <see cref="LocalPipelineHost"/> as a hosted service over the handlers of <see cref="Coral.Pipeline.PipelineServices.AddCoralPipeline"/>.
/// With <see cref="LocalHostOptions.UntilIdle"/> the run is the application: it stops the host when idle.
/// A generator that is not registered, or whose model cannot be loaded, leaves the host scoring only.
/// </summary>
public sealed class LocalHostService(IServiceProvider services, IOptions<LocalHostOptions> options, IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _log = loggers.CreateLogger("Coral.LocalHost");

    /// <summary>The running host's liveness (null before it starts), for `coral serve`'s summary.</summary>
    public HostLiveness? Liveness { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // models load here, not inside the host's StartAsync
        try
        {
            var host = new LocalPipelineHost(services.GetRequiredService<PipelineStorage>(), services.GetRequiredService<ScoreHandler>(),
                Generator(), options.Value, loggers);
            Liveness = host.Liveness;
            await host.RunAsync(stoppingToken);
        }
        finally
        {
            if (options.Value.UntilIdle) lifetime.StopApplication();
        }
    }

    private GenerateHandler? Generator()
    {
        try
        {
            return services.GetService<ILongtailBatchGenerator>() is null ? null : services.GetRequiredService<GenerateHandler>();
        }
        catch (Exception e) when (e is ICoralInputError)
        {
            _log.LogError("Generator unavailable, scoring only: {Reason}", e.Message);
            return null;
        }
    }

    /// <summary>Rethrows what stopped the run, if anything did (a hosted service's failure only stops the host).</summary>
    public async Task ThrowIfFailedAsync()
    {
        if (ExecuteTask is { IsFaulted: true } failed) await failed;
    }
}

public static class LocalHostServices
{
    /// <summary>The local host over the already registered pipeline (see <see cref="Coral.Pipeline.PipelineServices.AddCoralPipeline"/>).</summary>
    public static IServiceCollection AddCoralLocalHost(this IServiceCollection services, LocalHostOptions options)
    {
        services.AddSingleton(Options.Create(options));
        services.AddSingleton<LocalHostService>();
        services.AddHostedService(sp => sp.GetRequiredService<LocalHostService>());
        return services;
    }
}
