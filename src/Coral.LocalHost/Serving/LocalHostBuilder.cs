using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Coral.LocalHost.Serving;

/// <summary>The generic host of `coral serve`, `coral bench pipeline` and the tests' child host.</summary>
public static class LocalHostBuilder
{
    /// <summary>
    /// <c>Host.CreateApplicationBuilder</c> (environment variables as the Functions apps read them), with
    /// <paramref name="settings"/> (app-setting names, e.g. from command-line options) on top; null values are left out.
    /// The Azure SDK's own log lines (every request, and expected 409s such as "container already exists") and the
    /// host's start banner are left out: failures reach the handlers as exceptions and are logged there.
    /// </summary>
    public static HostApplicationBuilder Create(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Configuration.AddInMemoryCollection(settings
            .Where(s => s.Value is not null)
            .Select(s => KeyValuePair.Create(ConfigurationKey(s.Key), s.Value)));
        builder.Logging.AddFilter("Azure", LogLevel.Error).AddFilter("Microsoft.Hosting", LogLevel.Warning);
        return builder;
    }

    /// <summary>App-setting name → configuration key: <c>Coral__ScoreThreshold</c> → <c>Coral:ScoreThreshold</c>.</summary>
    public static string ConfigurationKey(string setting) => setting.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
}
