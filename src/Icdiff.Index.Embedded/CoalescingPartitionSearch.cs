namespace Icdiff.Index.Embedded;

/// <summary>
/// Serves the searches of one partition that arrive while it is being scanned in one scan together. A scan streams the
/// whole partition from memory and converts it to float32 once, whatever the number of queries, so with several workers'
/// batches in flight (each worker keeps two, and every worker searches every partition) separate scans read the
/// partition once per batch and spend most of their time waiting on memory and converting; one scan of all the queued
/// batches reads it once. A search that arrives when nothing is running starts at once, so a lone caller waits no
/// longer than before. Each query keeps its own bound and candidates, so a request's answer does not depend on the
/// requests it was scanned with. Thread-safe.
/// </summary>
public sealed class CoalescingPartitionSearch
{
    /// <summary>
    /// Most queries one scan takes: their float32 vectors (3 KB each at 768-d) stay in a core's L2 cache beside the
    /// chunk of gallery being scored (256 KB).
    /// </summary>
    public const int MaxQueriesPerScan = 128;

    private readonly Lock _gate = new();
    private readonly List<Request> _queued = [];
    private bool _scanning;
    private long _scans;
    private long _requests;

    /// <summary>Scans run, and the requests they served (a scan that served more than one was shared).</summary>
    public (long Scans, long Requests) Served
    {
        get
        {
            lock (_gate)
            {
                return (_scans, _requests);
            }
        }
    }

    /// <summary>
    /// <see cref="HalfProxyPartition.SearchCandidates(ReadOnlyMemory{float}[], int, int)"/> for
    /// <paramref name="queries"/>, scanned with whatever other requests for the same partition, k and limit are
    /// waiting. Bad arguments fail this request alone, before it is queued.
    /// </summary>
    public Task<ApproximateCandidate[][]> SearchAsync(HalfProxyPartition partition, ReadOnlyMemory<float>[] queries, int k, int limit)
    {
        ArgumentNullException.ThrowIfNull(partition);
        partition.CheckSearch(queries, k, limit);

        if (queries.Length == 0)
        {
            return Task.FromResult(Array.Empty<ApproximateCandidate[]>());
        }

        var request = new Request(partition, queries, k, limit);
        lock (_gate)
        {
            _queued.Add(request);
            if (_scanning)
            {
                return request.Answer.Task;
            }

            _scanning = true;
        }

        // The scans are CPU work: on the thread pool, off the caller's (a grain's) turn.
        _ = Task.Run(ScanWhileQueued);
        return request.Answer.Task;
    }

    private void ScanWhileQueued()
    {
        while (true)
        {
            List<Request> batch;
            lock (_gate)
            {
                if (_queued.Count == 0)
                {
                    _scanning = false;
                    return;
                }

                batch = TakeCompatible();
                _scans++;
                _requests += batch.Count;
            }

            Scan(batch);
        }
    }

    /// <summary>The oldest request and the queued ones that can share its scan (same partition, k and limit), in arrival order, up to the cap.</summary>
    private List<Request> TakeCompatible()
    {
        var first = _queued[0];
        var batch = new List<Request> { first };
        var queries = first.Queries.Length;
        _queued.RemoveAt(0);
        for (var i = 0; i < _queued.Count;)
        {
            var next = _queued[i];
            if (ReferenceEquals(next.Partition, first.Partition) && next.K == first.K && next.Limit == first.Limit && queries + next.Queries.Length <= MaxQueriesPerScan)
            {
                batch.Add(next);
                queries += next.Queries.Length;
                _queued.RemoveAt(i);
            }
            else
            {
                i++;
            }
        }

        return batch;
    }

    private static void Scan(List<Request> batch)
    {
        try
        {
            var first = batch[0];
            var rows = batch.SelectMany(r => r.Queries).ToArray();
            var hits = first.Partition.SearchCandidates(rows, first.K, first.Limit);
            var at = 0;
            foreach (var request in batch)
            {
                request.Answer.SetResult(hits[at..(at + request.Queries.Length)]);
                at += request.Queries.Length;
            }
        }
        catch (Exception ex)
        {
            foreach (var request in batch)
            {
                request.Answer.TrySetException(ex);
            }
        }
    }

    private sealed record Request(HalfProxyPartition Partition, ReadOnlyMemory<float>[] Queries, int K, int Limit)
    {
        // Continuations run on the thread pool, not inline on the scanning thread (which goes on to the next scan).
        public TaskCompletionSource<ApproximateCandidate[][]> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
