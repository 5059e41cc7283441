using Coral.Pipeline.Storage;

namespace Coral.Testing;

/// <summary>A pipeline storage namespace of its own (unique name prefix) on the shared Azurite.</summary>
public static class PipelineTestStorage
{
    public static async Task<PipelineStorage> CreateAsync(AzuriteFixture azurite)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10] + "-";
        var storage = PipelineStorage.FromConnectionString(azurite.ConnectionString, prefix);
        await storage.EnsureCreatedAsync();
        return storage;
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the deadline passes (no fixed sleeps).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {timeout} waiting for {what}");
            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(500, delay.TotalMilliseconds * 2));
        }
    }
}
