using Coral.Pipeline.Models;
using Coral.Pipeline.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Coral.Functions;

/// <summary>Registrations both apps share (compiled into each app; see FunctionsWorker.props).</summary>
internal static class FunctionsServices
{
    /// <summary>App settings by their app-setting names (CoralStorage, Coral__*).</summary>
    public static Func<string, string?> Setting(IServiceProvider sp) => Setting(sp.GetRequiredService<IConfiguration>());

    /// <summary>
    /// Configuration turns the environment's "__" into the ":" section separator, so
    /// <c>Coral__ScoreThreshold</c> is stored as <c>Coral:ScoreThreshold</c>; look it up that way.
    /// </summary>
    public static Func<string, string?> Setting(IConfiguration configuration) =>
        key => configuration[key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal)];

    /// <summary>Storage from the CoralStorage connection, and the real classifier.</summary>
    public static IServiceCollection AddCoralPipeline(this IServiceCollection services)
    {
        services.AddSingleton(sp => PipelineStorage.FromSettings(Setting(sp)));
        services.AddSingleton(sp => PipelineFactory.LoadScorer(Setting(sp)));
        return services;
    }
}
