using Coral.LocalHost.Audit;
using Coral.LocalHost.Azurite;
using Coral.LocalHost.Serving;
using Coral.Pipeline.Storage;

namespace Coral.LocalHost.Bench;

/// <summary>What one outage drill measured, and the audit that ended it.</summary>
public sealed record OutageResult(double OutageSeconds, int Uploaded, int Records, int Batches, int Poisoned, bool HostKeptRunning,
    double RecoverySeconds, long ScanFailures, long QueuePollFailures, IReadOnlyList<AuditProblem> Problems)
{
    public bool Ok => HostKeptRunning && Problems.Count == 0 && Records == Uploaded;
}

/// <summary>
/// A storage outage, for real: a host serves over an Azurite with its data on disk; half the inputs are uploaded, the
/// host starts, Azurite is stopped for the outage and restarted on the same ports and data, the other half is uploaded,
/// and once the host has caught up the audit checks that every input is recorded exactly once, every job is complete or
/// in poison with a reason, and that the host never stopped.
/// </summary>
public static class OutageDrill
{
    /// <param name="makeHost">Builds the host under test from the storage connection string (and what must be disposed with it).</param>
    public static async Task<OutageResult> RunAsync(TimeSpan outage, int inputs, Func<int, byte[]> image,
        Func<string, (LocalPipelineHost Host, IDisposable? Owner)> makeHost, TimeSpan catchUp, Action<string>? say = null, CancellationToken ct = default)
    {
        say ??= _ => { };
        string location = Directory.CreateTempSubdirectory("coral-outage-").FullName;
        var azurite = await AzuriteServer.StartAsync(new AzuriteStartOptions(location), ct: ct);
        int blobPort = azurite.BlobPort, queuePort = azurite.QueuePort;
        string connection = azurite.ConnectionString;
        try
        {
            var storage = PipelineStorage.FromConnectionString(connection);
            await storage.EnsureCreatedAsync(ct);
            int half = inputs / 2;
            for (int i = 0; i < half; i++) await storage.Incoming.GetBlobClient($"before/{i}.png").UploadAsync(BinaryData.FromBytes(image(i)), ct);
            // The host gets the connection string and builds its own clients, as a deployed app would.
            var (host, owner) = makeHost(connection);
            using var owned = owner;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var run = Task.Run(() => host.RunAsync(stop.Token), CancellationToken.None);

            await WaitAsync(async () => await CountAsync(storage) >= Math.Max(1, half / 2), TimeSpan.FromMinutes(2), ct);
            say($"stopping Azurite for {outage.TotalSeconds:F0} s ({await CountAsync(storage)} of {half} scored)");
            await azurite.DisposeAsync();
            await Task.Delay(outage, ct);
            azurite = await RestartAsync(location, blobPort, queuePort, ct);
            var back = DateTimeOffset.UtcNow;
            say("Azurite is back on the same ports and data; uploading the second half");
            for (int i = half; i < inputs; i++) await storage.Incoming.GetBlobClient($"after/{i}.png").UploadAsync(BinaryData.FromBytes(image(i)), ct);

            // Caught up: everything recorded, no job waiting, and both loops have talked to the restarted storage.
            bool caughtUp = await WaitAsync(async () => await CountAsync(storage) >= inputs && (await storage.Jobs.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount == 0
                && host.Liveness.LastGoodScan > back && host.Liveness.LastGoodQueuePoll > back, catchUp, ct);
            double recovery = (DateTimeOffset.UtcNow - back).TotalSeconds;
            bool running = !run.IsCompleted;
            stop.Cancel();
            try { await run; } catch (OperationCanceledException) { }
            var audit = await PipelineAudit.ReadAsync(storage, generatorRan: true, ct);
            var problems = audit.Problems.ToList();
            if (!caughtUp) problems.Add(new AuditProblem("not-caught-up", "host", $"{audit.Records.Count} of {inputs} recorded after {catchUp.TotalSeconds:F0} s"));
            say($"audit: {audit.Records.Count} records, {audit.Manifests} batches, {audit.Poison.Count} poisoned, {problems.Count} problems; host {(running ? "still running" : "had stopped")}; {host.Liveness.Describe(DateTimeOffset.UtcNow)}");
            return new OutageResult(outage.TotalSeconds, inputs, audit.Records.Count, audit.Manifests, audit.Poison.Count, running, recovery,
                host.Liveness.ScanFailures, host.Liveness.QueuePollFailures, problems);
        }
        finally
        {
            await azurite.DisposeAsync();
            try { Directory.Delete(location, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Azurite again on its old ports and data (the ports can take a moment to be free again).</summary>
    private static async Task<AzuriteServer> RestartAsync(string location, int blobPort, int queuePort, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try { return await AzuriteServer.StartAsync(new AzuriteStartOptions(location, blobPort, queuePort), ct: ct); }
            catch (AzuriteException) when (attempt < 10) { await Task.Delay(TimeSpan.FromSeconds(1), ct); }
        }
    }

    private static async Task<int> CountAsync(PipelineStorage s)
    {
        int n = 0;
        try { await foreach (var _ in s.Scores.GetBlobsAsync()) n++; }
        catch (Exception e) when (e is not OperationCanceledException) { return -1; }
        return n;
    }

    private static async Task<bool> WaitAsync(Func<Task<bool>> done, TimeSpan timeout, CancellationToken ct)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (await done()) return true;
            await Task.Delay(200, ct);
        }
        return await done();
    }
}
