using Coral.Testing;

namespace Coral.Pipeline.Models.Tests;

/// <summary>xUnit v2 only honours collection definitions declared in the test assembly itself.</summary>
[CollectionDefinition(AzuriteCollection.Name)]
public sealed class AzuriteCollectionDefinition : ICollectionFixture<AzuriteFixture>;
