using Microsoft.Extensions.Logging;

namespace Icdiff.Grains;

/// <summary>
/// Keeps at most N worker calls in flight from a grain. Each call gets a free slot, which is also the worker
/// grain's key, so concurrent calls go to distinct activations (spread over silos by placement). A failed call
/// is retried on another slot; after the last attempt the failure ends the run. Runs on the calling grain's
/// scheduler, so completion callbacks may touch grain state.
/// </summary>
internal sealed partial class ShardDispatcher(IGrainFactory grainFactory, int maxInFlight, int attempts, ILogger logger)
{
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
                    await onCompleted(result);
                    return;
                }
                catch (Exception ex) when (attempt < attempts && !cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
                {
                    Log.Retrying(logger, ex, slot, attempt, attempts);
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

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.ShardRetried, Level = LogLevel.Warning, Message = "Worker call on slot {Slot} failed (attempt {Attempt} of {Attempts}); retrying")]
        public static partial void Retrying(ILogger logger, Exception exception, long slot, int attempt, int attempts);
    }
}
