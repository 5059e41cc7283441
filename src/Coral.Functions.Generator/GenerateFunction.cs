using Azure.Storage.Queues.Models;
using Coral.Pipeline.Generation;
using Coral.Pipeline.Names;
using Microsoft.Azure.Functions.Worker;

namespace Coral.Functions.Generator;

/// <summary>One `longtail-jobs` message → one LTG batch, its manifest and review page (idempotent per jobId).</summary>
public sealed class GenerateFunction(GenerateHandler handler)
{
    [Function(FunctionNames.Generate)]
    public Task<GenerateOutcome> Run(
        [QueueTrigger(Queues.LongtailJobs, Connection = Settings.StorageConnection)] QueueMessage message,
        CancellationToken cancellationToken) =>
        handler.HandleMessageAsync(message.MessageText, message.MessageId, message.DequeueCount, cancellationToken);
}
