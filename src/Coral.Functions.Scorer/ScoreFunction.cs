using Azure.Storage.Blobs;
using Coral.Pipeline.Names;
using Coral.Pipeline.Scoring;
using Microsoft.Azure.Functions.Worker;

namespace Coral.Functions.Scorer;

/// <summary>Event Grid blob trigger on incoming/: score, write scores/{jobId}.json, queue a job when flagged.</summary>
public sealed class ScoreFunction(ScoreHandler handler)
{
    [Function(FunctionNames.Score)]
    public async Task<ScoreOutput> Run(
        [BlobTrigger(Containers.Incoming + "/{name}", Source = BlobTriggerSource.EventGrid, Connection = Settings.StorageConnection)] BlobClient blob,
        string name,
        CancellationToken cancellationToken)
    {
        _ = name; // bound from the path; the BlobClient already carries it
        var result = await handler.HandleAsync(blob, cancellationToken);
        return new ScoreOutput { Job = result?.JobMessage };
    }
}

/// <summary>The function's outputs: at most one `longtail-jobs` message (null = none sent).</summary>
public sealed class ScoreOutput
{
    [QueueOutput(Queues.LongtailJobs, Connection = Settings.StorageConnection)]
    public string? Job { get; set; }
}
