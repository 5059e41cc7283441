using Coral.Pipeline.Models;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Coral.Functions;

/// <summary>Registrations both apps share (compiled into each app; see FunctionsWorker.props).</summary>
internal static class FunctionsServices
{
    /// <summary>App settings as the pipeline reads them (CoralStorage, Coral__*).</summary>
    public static Func<string, string?> Setting(IServiceProvider sp)
    {
        var configuration = sp.GetRequiredService<IConfiguration>();
        return key => configuration[key];
    }

    /// <summary>Storage from the CoralStorage connection, and the real classifier.</summary>
    public static IServiceCollection AddCoralPipeline(this IServiceCollection services)
    {
        services.AddSingleton(sp => PipelineStorage.FromSettings(Setting(sp)));
        services.AddSingleton(sp => PipelineFactory.LoadScorer(Setting(sp)));
        return services;
    }
}
