using System.Diagnostics;
using Icdiff.Core;
using Microsoft.Extensions.Logging;

namespace Icdiff.Grains;

/// <summary>
/// Hands a run's batches to the cluster's worker silos, following their capacity. Every worker silo reports how many
/// shards it takes at once; a batch goes to the silo with the lowest share of its capacity in use, on a free slot of
/// that silo (the slot is part of the worker grain's key, and placement puts the key on that silo). A faster silo
/// frees its slots sooner and so takes more of the work; a silo that joins is seen at the next dispatch (membership
/// and the cluster manifest are read each time) and a silo that leaves loses only the calls it had in flight, which
/// are retried on another silo. A call that stays unanswered far longer than the run's calls take (see
/// <see cref="AuditSiloOptions.StalledCallFactor"/>) is sent again elsewhere while its slot stays taken until it ends.
/// After the last attempt a failure ends the run. Runs on the calling grain's scheduler, so the bookkeeping needs no
/// locks and completion callbacks may touch grain state.
/// </summary>
internal sealed partial class ShardDispatcher(IGrainFactory grainFactory, WorkerSiloDirectory directory, int attempts, TimeSpan workerWait, StallLimit stall, ILogger logger)
{
    /// <summary>How many recent call durations the stall limit's median is taken over.</summary>
    private const int DurationWindow = 64;

    /// <summary>How often a dispatcher with nothing free looks again for silos that joined.</summary>
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a new silo may take to say its capacity before it is left for the next look.</summary>
    private static readonly TimeSpan CapacityQuestionTimeout = TimeSpan.FromSeconds(10);

    private readonly Dictionary<SiloAddress, WorkerLoad> _workers = [];
    private readonly List<Task> _inFlight = [];
    private readonly List<Task> _abandoned = [];
    private readonly Queue<double> _durations = new();
    private DateTimeOffset? _noWorkerSince;

    /// <summary>Sends <paramref name="call"/> to a worker once one has a free slot; <paramref name="onCompleted"/> gets its result and the silo that did it.</summary>
    public async Task DispatchAsync<T>(Func<IWorkerGrain, Task<T>> call, Func<T, SiloAddress, Task> onCompleted, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await DropFinishedAsync();
            await RefreshAsync(cancellationToken);
            if (TryTake(exclude: null, overflow: false) is { } assignment)
            {
                _inFlight.Add(RunAsync(assignment, call, onCompleted, cancellationToken));
                return;
            }

            await WaitAsync(cancellationToken);
        }
    }

    public async Task DrainAsync()
    {
        while (_inFlight.Count > 0)
        {
            await Task.WhenAny(_inFlight);
            await DropFinishedAsync();
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

    /// <summary>Drops finished calls from the list, surfacing a failure that exhausted its attempts.</summary>
    private async Task DropFinishedAsync()
    {
        _abandoned.RemoveAll(t => t.IsCompleted);
        for (var i = _inFlight.Count - 1; i >= 0; i--)
        {
            if (_inFlight[i].IsCompleted)
            {
                var done = _inFlight[i];
                _inFlight.RemoveAt(i);
                await done;
            }
        }
    }

    /// <summary>Until a call finishes or it is time to look for new silos again.</summary>
    private async Task WaitAsync(CancellationToken cancellationToken)
    {
        var tick = Task.Delay(RefreshInterval, cancellationToken);
        await Task.WhenAny([.. _inFlight, tick]);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Brings the set of worker silos up to date with membership; fails the run when none has been there for too long.</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var active = directory.ActiveWorkers();
        foreach (var (silo, load) in _workers)
        {
            if (!load.Gone && !active.Contains(silo))
            {
                load.Gone = true;
                directory.Forget(silo);
                Log.WorkerLeft(logger, silo, load.InFlight);
            }
        }

        foreach (var silo in active)
        {
            if (_workers.ContainsKey(silo))
            {
                continue;
            }

            try
            {
                var capacity = await directory.CapacityAsync(silo).WaitAsync(CapacityQuestionTimeout, cancellationToken);
                _workers[silo] = new WorkerLoad(Math.Max(1, capacity));
                Log.WorkerJoined(logger, silo, capacity);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A silo still starting or already leaving: asked again at the next look.
                Log.CapacityUnknown(logger, ex, silo);
            }
        }

        if (_workers.Values.Any(w => !w.Gone))
        {
            _noWorkerSince = null;
            return;
        }

        _noWorkerSince ??= DateTimeOffset.UtcNow;
        var waited = DateTimeOffset.UtcNow - _noWorkerSince.Value;
        if (waited >= workerWait)
        {
            throw new NoWorkerSiloException(workerWait, null);
        }

        Log.WaitingForWorker(logger, waited.TotalSeconds, workerWait.TotalSeconds);
    }

    /// <summary>
    /// A free slot on the live silo with the lowest share of its capacity in use (ties: fewer batches done, then the
    /// silo order). With <paramref name="overflow"/> a full silo takes one more (a retry must not wait behind new
    /// work), and <paramref name="exclude"/> is avoided while another silo is live.
    /// </summary>
    private Assignment? TryTake(SiloAddress? exclude, bool overflow)
    {
        SiloAddress? best = null;
        WorkerLoad? bestLoad = null;
        foreach (var (silo, load) in _workers)
        {
            if (load.Gone || (!overflow && load.InFlight >= load.Capacity) || (silo.Equals(exclude) && _workers.Count(w => !w.Value.Gone) > 1))
            {
                continue;
            }

            if (bestLoad is null || Compare(load, bestLoad) < 0)
            {
                best = silo;
                bestLoad = load;
            }
        }

        if (best is null || bestLoad is null)
        {
            return null;
        }

        var slot = 0;
        while (bestLoad.BusySlots.Contains(slot))
        {
            slot++;
        }

        bestLoad.BusySlots.Add(slot);
        return new Assignment(best, slot);

        static int Compare(WorkerLoad a, WorkerLoad b)
        {
            var byUse = ((long)a.InFlight * b.Capacity).CompareTo((long)b.InFlight * a.Capacity);
            return byUse != 0 ? byUse : a.Completed.CompareTo(b.Completed);
        }
    }

    private void Release(Assignment assignment, bool completed)
    {
        if (_workers.TryGetValue(assignment.Silo, out var load))
        {
            load.BusySlots.Remove(assignment.Slot);
            if (completed)
            {
                load.Completed++;
            }
        }
    }

    private async Task RunAsync<T>(Assignment assignment, Func<IWorkerGrain, Task<T>> call, Func<T, SiloAddress, Task> onCompleted, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            T result = default!;
            Task<T>? stalled = null;
            var started = Stopwatch.GetTimestamp();
            try
            {
                var pending = call(grainFactory.GetGrain<IWorkerGrain>(WorkerSlotKey.For(assignment.Silo, assignment.Slot)));
                // The last attempt waits as long as it takes: a slow call is better than a failed run.
                if (attempt < attempts && !cancellationToken.IsCancellationRequested && !await AnswersInTimeAsync(pending, started))
                {
                    stalled = pending;
                }
                else
                {
                    result = await pending;
                }
            }
            catch (Exception ex) when (IsNoWorkerSilo(ex) && !cancellationToken.IsCancellationRequested)
            {
                // Placement found no worker silo at all (the last one left just now): not an attempt; wait for one.
                Release(assignment, completed: false);
                assignment = await RetakeAsync(null, cancellationToken);
                attempt--;
                continue;
            }
            catch (Exception ex) when (attempt < attempts && !cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
            {
                Log.Retrying(logger, ex, assignment.Silo, attempt, attempts);
                IcdiffTelemetry.DispatchRetries.Add(1);
                Release(assignment, completed: false);
                assignment = await RetakeAsync(assignment.Silo, cancellationToken);
                continue;
            }
            catch
            {
                Release(assignment, completed: false);
                throw;
            }

            if (stalled is not null)
            {
                // Outside the handlers above: the stalled call's slot is released when that call ends, never here.
                Log.Stalled(logger, assignment.Silo, Stopwatch.GetElapsedTime(started).TotalSeconds, StallLimitNow().TotalSeconds, attempt, attempts);
                IcdiffTelemetry.DispatchRetries.Add(1);
                _abandoned.Add(ReleaseWhenEndedAsync(stalled, assignment));
                assignment = await RetakeAsync(assignment.Silo, cancellationToken);
                continue;
            }

            Release(assignment, completed: true);
            RecordDuration(Stopwatch.GetElapsedTime(started));
            await onCompleted(result, assignment.Silo);
            return;
        }
    }

    /// <summary>
    /// Whether <paramref name="pending"/> ends before the stall limit (re-read as calls complete, so it follows the
    /// run's pace). With no call finished yet there is no pace to judge by, and the call is awaited to its end. A
    /// cancelled run still waits for its calls (their results are valid and recorded), so no token is watched here.
    /// </summary>
    private async Task<bool> AnswersInTimeAsync(Task pending, long started)
    {
        while (!pending.IsCompleted)
        {
            var limit = StallLimitNow();
            if (limit == Timeout.InfiniteTimeSpan)
            {
                await Task.WhenAny(pending, Task.Delay(RefreshInterval * 5));
                continue;
            }

            var left = limit - Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            await Task.WhenAny(pending, Task.Delay(left < RefreshInterval * 5 ? left : RefreshInterval * 5));
        }

        return true;
    }

    /// <summary>The stall limit now: factor x median of recent durations, at least the floor; infinite when off or unknown.</summary>
    private TimeSpan StallLimitNow()
    {
        if (stall.Factor <= 0 || _durations.Count == 0)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var sorted = _durations.Order().ToArray();
        var median = TimeSpan.FromSeconds(sorted[sorted.Length / 2] * stall.Factor);
        return median > stall.Floor ? median : stall.Floor;
    }

    private void RecordDuration(TimeSpan duration)
    {
        _durations.Enqueue(duration.TotalSeconds);
        if (_durations.Count > DurationWindow)
        {
            _durations.Dequeue();
        }
    }

    /// <summary>
    /// A call presumed lost keeps its slot until it ends (the worker grain may still be busy with it, and handles one
    /// batch at a time); whatever it ends with is only logged: its batch was sent again and is counted from there.
    /// </summary>
    private async Task ReleaseWhenEndedAsync(Task pending, Assignment assignment)
    {
        try
        {
            await pending;
            Log.StalledCallEnded(logger, assignment.Silo, null);
        }
        catch (Exception ex)
        {
            Log.StalledCallEnded(logger, assignment.Silo, ex);
        }

        Release(assignment, completed: false);
    }

    /// <summary>A slot for a retry, on another silo than the one that failed where there is one.</summary>
    private async Task<Assignment> RetakeAsync(SiloAddress? failed, CancellationToken cancellationToken)
    {
        while (true)
        {
            await RefreshAsync(cancellationToken);
            if (TryTake(failed, overflow: true) is { } assignment)
            {
                return assignment;
            }

            await Task.Delay(RefreshInterval, cancellationToken);
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

    private sealed record Assignment(SiloAddress Silo, int Slot);

    private sealed class WorkerLoad(int capacity)
    {
        public int Capacity { get; } = capacity;

        public HashSet<int> BusySlots { get; } = [];

        public int InFlight => BusySlots.Count;

        public long Completed { get; set; }

        public bool Gone { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.WaitingForWorker, Level = LogLevel.Warning, Message = "No silo with the worker role is in the cluster; waited {Waited:0} s of {Limit:0} s for one to join")]
        public static partial void WaitingForWorker(ILogger logger, double waited, double limit);

        [LoggerMessage(EventId = GrainEventIds.ShardRetried, Level = LogLevel.Warning, Message = "Worker call on silo {Silo} failed (attempt {Attempt} of {Attempts}); retrying on another worker")]
        public static partial void Retrying(ILogger logger, Exception exception, SiloAddress silo, int attempt, int attempts);

        [LoggerMessage(EventId = GrainEventIds.WorkerCallStalled, Level = LogLevel.Warning, Message = "Worker call on silo {Silo} has not answered in {Waited:0} s (limit {Limit:0} s, from the run's median call); presumed lost and sent to another worker (attempt {Attempt} of {Attempts})")]
        public static partial void Stalled(ILogger logger, SiloAddress silo, double waited, double limit, int attempt, int attempts);

        [LoggerMessage(EventId = GrainEventIds.WorkerCallStalled, Level = LogLevel.Information, Message = "A worker call on silo {Silo} presumed lost has ended after all; its batch was already sent again")]
        public static partial void StalledCallEnded(ILogger logger, SiloAddress silo, Exception? exception);

        [LoggerMessage(EventId = GrainEventIds.WorkerJoined, Level = LogLevel.Information, Message = "Worker silo {Silo} takes {Capacity} shards at once")]
        public static partial void WorkerJoined(ILogger logger, SiloAddress silo, int capacity);

        [LoggerMessage(EventId = GrainEventIds.WorkerLeft, Level = LogLevel.Warning, Message = "Worker silo {Silo} left the cluster with {InFlight} calls in flight; they are retried elsewhere")]
        public static partial void WorkerLeft(ILogger logger, SiloAddress silo, int inFlight);

        [LoggerMessage(EventId = GrainEventIds.WorkerCapacityUnknown, Level = LogLevel.Debug, Message = "Worker silo {Silo} did not say its capacity yet")]
        public static partial void CapacityUnknown(ILogger logger, Exception exception, SiloAddress silo);
    }
}

/// <summary>A run needs a worker silo and none joined the cluster in time.</summary>
public sealed class NoWorkerSiloException(TimeSpan waited, Exception? inner) : Exception(
    $"no silo in the cluster has the worker role (waited {waited.TotalSeconds:0} s for one to join): start a silo with " +
    $"{AuditSiloOptions.SectionName}:Roles including '{SiloRoles.Worker}', then resume the run",
    inner);

/// <summary>When a worker call is presumed lost: <paramref name="Factor"/> x the median call, at least <paramref name="Floor"/>; factor 0 = never.</summary>
internal readonly record struct StallLimit(double Factor, TimeSpan Floor);
