using System.Globalization;
using Azure.Core;
using Coral.Pipeline.Names;

namespace Coral.Pipeline.Introspection;

/// <summary>An introspection setting is unusable; the message names the setting and its value (never a key).</summary>
public sealed class IntrospectionConfigurationException(string message) : Exception(message), ICoralInputError;

/// <summary>Where and how to call the vision chat deployment, with the bounds that keep a batch from waiting on it.</summary>
public sealed record IntrospectionOptions
{
    /// <summary>Azure OpenAI resource endpoint, e.g. https://name.openai.azure.com/.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>Chat deployment of a vision-capable model.</summary>
    public required string Deployment { get; init; }

    /// <summary>API key auth when set; otherwise Entra ID through <see cref="Credential"/>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Entra ID credential when there is no key; null means DefaultAzureCredential (AZURE_CLIENT_ID picks a user-assigned identity).</summary>
    public TokenCredential? Credential { get; init; }

    /// <summary>The whole call, retries and their back-off included; the batch never waits longer.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(Defaults.IntrospectionTimeoutSeconds);

    /// <summary>Retries after the first try (HTTP 408/429/5xx and network errors).</summary>
    public int MaxRetries { get; init; } = Defaults.IntrospectionMaxRetries;

    /// <summary>Each try gets an equal share of <see cref="Timeout"/>, so a hung server still leaves room for the retries.</summary>
    public TimeSpan TryTimeout => Timeout / (MaxRetries + 1);

    public const int MaxRetriesLimit = 10;

    /// <summary>
    /// From the app settings: null (off) unless <see cref="Settings.OpenAiEndpoint"/> is set. The key is read from
    /// <see cref="SecretSettings.OpenAiKey"/> when present; the deployed apps have none and use Entra ID.
    /// </summary>
    public static IntrospectionOptions? FromSettings(Func<string, string?> setting)
    {
        string? endpoint = Trimmed(setting(Settings.OpenAiEndpoint)), deployment = Trimmed(setting(Settings.OpenAiDeployment));
        if (endpoint is null)
        {
            if (deployment is not null)
                throw new IntrospectionConfigurationException($"setting {Settings.OpenAiDeployment}='{deployment}' needs {Settings.OpenAiEndpoint} as well");
            return null;
        }
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            throw new IntrospectionConfigurationException($"setting {Settings.OpenAiEndpoint}='{endpoint}' is not an http(s) URL");
        if (deployment is null)
            throw new IntrospectionConfigurationException($"setting {Settings.OpenAiEndpoint} is set but {Settings.OpenAiDeployment} (the vision chat deployment) is not");

        double timeout = Number(setting, Settings.IntrospectionTimeoutSeconds) ?? Defaults.IntrospectionTimeoutSeconds;
        if (!(timeout is > 0 and <= 3600))
            throw new IntrospectionConfigurationException($"setting {Settings.IntrospectionTimeoutSeconds}={timeout.ToString(CultureInfo.InvariantCulture)} must be in (0, 3600] seconds");
        double retries = Number(setting, Settings.IntrospectionMaxRetries) ?? Defaults.IntrospectionMaxRetries;
        if (retries != Math.Floor(retries) || retries is < 0 or > MaxRetriesLimit)
            throw new IntrospectionConfigurationException($"setting {Settings.IntrospectionMaxRetries}={retries.ToString(CultureInfo.InvariantCulture)} must be a whole number in 0..{MaxRetriesLimit}");

        return new IntrospectionOptions
        {
            Endpoint = uri,
            Deployment = deployment,
            ApiKey = Trimmed(setting(SecretSettings.OpenAiKey)),
            Timeout = TimeSpan.FromSeconds(timeout),
            MaxRetries = (int)retries,
        };
    }

    private static string? Trimmed(string? v) => string.IsNullOrWhiteSpace(v) ? null : v.Trim();

    private static double? Number(Func<string, string?> setting, string name)
    {
        var v = Trimmed(setting(name));
        if (v is null) return null;
        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d
            : throw new IntrospectionConfigurationException($"setting {name}='{v}' is not a number");
    }
}
