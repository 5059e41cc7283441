using TorchSharp;

namespace Coral.Ml;

/// <summary>libtorch failed to load; the message says how to fix the machine.</summary>
public sealed class TorchUnavailableException(string message, Exception inner) : Exception(message, inner), ICoralInputError;

/// <summary>One place that initialises libtorch: thread count, determinism, and a clear load error.</summary>
public static class TorchRuntime
{
    private static readonly Lazy<bool> Loaded = new(Load);

    /// <summary>Environment variable that sets libtorch's intra-op thread count (wins over every default).</summary>
    public const string ThreadsVariable = "CORAL_TORCH_THREADS";

    /// <summary>Ensures libtorch is loaded; throws <see cref="TorchUnavailableException"/> with a fix if not.</summary>
    public static void EnsureLoaded() => _ = Loaded.Value;

    /// <summary>
    /// Hosts (serve, the Functions apps) run one torch thread unless <see cref="ThreadsVariable"/> says otherwise: with
    /// two threads libtorch slows 10–40× when other work loads the cores; concurrency comes from requests instead.
    /// </summary>
    public static void UseHostDefaults()
    {
        EnsureLoaded();
        if (!int.TryParse(Environment.GetEnvironmentVariable(ThreadsVariable), out int n) || n <= 0) torch.set_num_threads(1);
    }

    private static bool Load()
    {
        try
        {
            using var probe = torch.zeros(1);
            var threads = Environment.GetEnvironmentVariable(ThreadsVariable);
            if (int.TryParse(threads, out int n) && n > 0) torch.set_num_threads(n);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException)
        {
            string hint = e.ToString().Contains("GLIBCXX", StringComparison.Ordinal)
                ? "libstdc++ lacks GLIBCXX_3.4.32: run scripts/setup.sh (installs libstdc++6 from Debian 13 on Debian 12)."
                : "run scripts/setup.sh and check that the libtorch-cpu-linux-x64 package restored.";
            throw new TorchUnavailableException("TorchSharp could not load libtorch: " + hint, e);
        }
    }
}
