// Compile-only stand-ins. Each type mirrors the public surface the Coral apps use of the real type in
// Azure/azure-functions-dotnet-worker (same namespace, name, constructor and property signatures); the
// real base classes (TriggerBindingAttribute, OutputBindingAttribute) and converters are left out because
// nothing here binds: triggering on a machine without the packages comes from `coral serve`.
namespace Microsoft.Azure.Functions.Worker;

/// <summary>Real: src/DotNetWorker.Core — marks a function entry point.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class FunctionAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Real: extensions/Worker.Extensions.Storage.Blobs/src/BlobTriggerSource.cs.</summary>
public enum BlobTriggerSource
{
    LogsAndContainerScan,
    EventGrid,
}

/// <summary>Real: extensions/Worker.Extensions.Storage.Blobs/src/BlobTriggerAttribute.cs.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class BlobTriggerAttribute(string blobPath) : Attribute
{
    public string BlobPath { get; } = blobPath;
    public string? Connection { get; set; }
    public BlobTriggerSource Source { get; set; } = BlobTriggerSource.LogsAndContainerScan;
}

/// <summary>Real: extensions/Worker.Extensions.Storage.Queues/src/QueueTriggerAttribute.cs.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class QueueTriggerAttribute(string queueName) : Attribute
{
    public string QueueName { get; } = queueName;
    public string? Connection { get; set; }
}

/// <summary>Real: extensions/Worker.Extensions.Storage.Queues/src/QueueOutputAttribute.cs.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Method | AttributeTargets.ReturnValue)]
public sealed class QueueOutputAttribute(string queueName) : Attribute
{
    public string QueueName { get; } = queueName;
    public string? Connection { get; set; }
}
