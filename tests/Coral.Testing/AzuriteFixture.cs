using Coral.LocalHost.Azurite;

namespace Coral.Testing;

/// <summary>
/// One Azurite per test assembly, shared by every storage test through the "Azurite" collection.
/// Tests isolate themselves with unique container/queue names, never by restarting Azurite.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteServer? _server;

    public AzuriteServer Server => _server ?? throw new InvalidOperationException("Azurite is not started");
    public string ConnectionString => Server.ConnectionString;

    public async Task InitializeAsync() => _server = await AzuriteServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    /// <summary>A lowercase name unique to this test run, valid for containers and queues.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)].ToLowerInvariant();
}

/// <remarks>
/// xUnit v2 only honours a [CollectionDefinition] declared in the test assembly itself, so each test project
/// that uses the fixture also declares <c>[CollectionDefinition(AzuriteCollection.Name)] class X : ICollectionFixture&lt;AzuriteFixture&gt;;</c>
/// (see tests/Coral.Pipeline.Tests/AzuriteCollectionDefinition.cs).
/// </remarks>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
