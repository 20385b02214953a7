using Icdiff.Core;
using Microsoft.Extensions.Logging;

namespace Icdiff.Grains;

/// <summary>
/// Keeps at most N worker calls in flight from a grain. Each call gets a free slot, which is also the worker
/// grain's key, so concurrent calls go to distinct activations (spread over silos by placement). A failed call
/// is retried on another slot; after the last attempt the failure ends the run. Runs on the calling grain's
/// scheduler, so completion callbacks may touch grain state.
/// </summary>
internal sealed partial class ShardDispatcher(IGrainFactory grainFactory, int maxInFlight, int attempts, TimeSpan workerWait, ILogger logger)
{
    private static readonly TimeSpan WorkerPollInterval = TimeSpan.FromSeconds(1);
    private DateTimeOffset? _noWorkerSince;
    private readonly Queue<long> _freeSlots = new(Enumerable.Range(0, maxInFlight).Select(i => (long)i));
    private readonly List<Task> _inFlight = [];
    private long _nextSlot = maxInFlight;

    public async Task DispatchAsync<T>(Func<IWorkerGrain, Task<T>> call, Func<T, Task> onCompleted, CancellationToken cancellationToken)
    {
        while (_freeSlots.Count == 0)
        {
            await WaitForOneAsync();
        }

        cancellationToken.ThrowIfCancellationRequested();
        // Calls that finished while slots were free are still listed; drop them (surfacing a failure) so the list stays bounded.
        for (var i = _inFlight.Count - 1; i >= 0; i--)
        {
            if (_inFlight[i].IsCompleted)
            {
                var done = _inFlight[i];
                _inFlight.RemoveAt(i);
                await done;
            }
        }

        var slot = _freeSlots.Dequeue();
        _inFlight.Add(RunAsync(slot, call, onCompleted, cancellationToken));
    }

    public async Task DrainAsync()
    {
        while (_inFlight.Count > 0)
        {
            await WaitForOneAsync();
        }
    }

    /// <summary>Waits for every shard in flight, whatever its outcome: used when a run is cancelled.</summary>
    public async Task SettleAsync()
    {
        try
        {
            await Task.WhenAll(_inFlight);
        }
        catch (Exception)
        {
            // Failures of shards in flight at cancellation change nothing: the run is over and their retries are not made.
        }

        _inFlight.Clear();
    }

    private async Task WaitForOneAsync()
    {
        var finished = await Task.WhenAny(_inFlight);
        _inFlight.Remove(finished);
        await finished; // surfaces a failure that exhausted its attempts
    }

    private async Task RunAsync<T>(long slot, Func<IWorkerGrain, Task<T>> call, Func<T, Task> onCompleted, CancellationToken cancellationToken)
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var result = await call(grainFactory.GetGrain<IWorkerGrain>(slot));
                    _noWorkerSince = null;
                    await onCompleted(result);
                    return;
                }
                catch (Exception ex) when (IsNoWorkerSilo(ex) && !cancellationToken.IsCancellationRequested)
                {
                    // No silo can host a worker right now: wait (not counted as an attempt) for one to join, up to a limit.
                    _noWorkerSince ??= DateTimeOffset.UtcNow;
                    var waited = DateTimeOffset.UtcNow - _noWorkerSince.Value;
                    if (waited >= workerWait)
                    {
                        throw new NoWorkerSiloException(workerWait, ex);
                    }

                    Log.WaitingForWorker(logger, waited.TotalSeconds, workerWait.TotalSeconds);
                    await Task.Delay(WorkerPollInterval, cancellationToken);
                    attempt--;
                }
                catch (Exception ex) when (attempt < attempts && !cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
                {
                    Log.Retrying(logger, ex, slot, attempt, attempts);
                    IcdiffTelemetry.DispatchRetries.Add(1);
                    // A fresh key lands on a fresh activation, possibly on another silo.
                    slot = _nextSlot++;
                }
            }
        }
        finally
        {
            _freeSlots.Enqueue(slot);
        }
    }

    /// <summary>
    /// No silo of the cluster hosts the worker grain: its interface has no implementation in the cluster's manifest
    /// (no worker silo ever joined, or all left), or placement found no active compatible silo.
    /// </summary>
    private static bool IsNoWorkerSilo(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if ((ex is OrleansException && ex.Message.Contains("No active nodes are compatible with grain", StringComparison.Ordinal))
                || (ex is ArgumentException && ex.Message.Contains("Could not find an implementation for interface", StringComparison.Ordinal) && ex.Message.Contains(nameof(IWorkerGrain), StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.WaitingForWorker, Level = LogLevel.Warning, Message = "No silo with the worker role is in the cluster; waited {Waited:0} s of {Limit:0} s for one to join")]
        public static partial void WaitingForWorker(ILogger logger, double waited, double limit);

        [LoggerMessage(EventId = GrainEventIds.ShardRetried, Level = LogLevel.Warning, Message = "Worker call on slot {Slot} failed (attempt {Attempt} of {Attempts}); retrying")]
        public static partial void Retrying(ILogger logger, Exception exception, long slot, int attempt, int attempts);
    }
}

/// <summary>A run needs a worker silo and none joined the cluster in time.</summary>
public sealed class NoWorkerSiloException(TimeSpan waited, Exception inner) : Exception(
    $"no silo in the cluster has the worker role (waited {waited.TotalSeconds:0} s for one to join): start a silo with " +
    $"{AuditSiloOptions.SectionName}:Roles including '{SiloRoles.Worker}', then resume the run",
    inner);
