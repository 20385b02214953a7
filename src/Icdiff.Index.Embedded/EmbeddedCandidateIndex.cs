using System.Globalization;
using Icdiff.Core;

namespace Icdiff.Index.Embedded;

/// <summary>
/// The embedded index behind the <see cref="ICandidateIndex"/> contract: exact top-k over every proxy, so it is also
/// the reference that approximate indexes (Milvus HNSW, IVF, DiskANN) are compared with. Thread-safe: one lock,
/// writes are rare next to searches in an audit.
/// </summary>
public sealed class EmbeddedCandidateIndex : ICandidateIndex
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, int> _ordinals = [];
    private EmbeddedVectorIndex? _index;

    public string Description => "embedded exact index";

    public Task EnsureReadyAsync(int dim, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_index is not null && _index.Dim != dim)
            {
                throw new InvalidOperationException($"the index holds {_index.Dim}-float proxies, not {dim}.");
            }

            _index ??= new EmbeddedVectorIndex(1, dim);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<long>> MissingAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<long>>([.. ids.Where(id => !_ordinals.ContainsKey(id))]);
        }
    }

    public Task UpsertAsync(IReadOnlyList<GalleryVector> vectors, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var index = Ready();
            var latest = new Dictionary<long, GalleryVector>();
            foreach (var vector in vectors)
            {
                if (vector.Id is < 0 or >= GalleryIds.Limit)
                {
                    throw new ArgumentException($"gallery id {vector.Id} is outside 0..2^53.", nameof(vectors));
                }

                if (vector.Proxy.Length != index.Dim)
                {
                    throw new ArgumentException($"proxy of id {vector.Id} has {vector.Proxy.Length} floats; the index holds {index.Dim}.", nameof(vectors));
                }

                latest[vector.Id] = vector;
            }

            RemoveLocked(latest.Keys);
            foreach (var vector in latest.Values)
            {
                _ordinals[vector.Id] = index.Count;
                index.Add(vector.Id.ToString(CultureInfo.InvariantCulture), vector.Source, vector.Proxy);
            }
        }

        return Task.CompletedTask;
    }

    public Task DeleteAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Ready();
            RemoveLocked(ids);
        }

        return Task.CompletedTask;
    }

    public Task<long> CountAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult((long)(_index?.Count ?? 0));
        }
    }

    public Task<IReadOnlyList<IReadOnlyList<VectorHit>>> SearchAsync(IReadOnlyList<float[]> queries, int k, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var index = Ready();
            var flat = new float[queries.Count * index.Dim];
            for (var q = 0; q < queries.Count; q++)
            {
                queries[q].AsSpan().CopyTo(flat.AsSpan(q * index.Dim, index.Dim));
            }

            var candidates = new IndexCandidate[queries.Count * k];
            var found = new int[queries.Count];
            index.Search(flat, queries.Count, k, candidates, found);
            var results = new IReadOnlyList<VectorHit>[queries.Count];
            for (var q = 0; q < queries.Count; q++)
            {
                results[q] = [.. candidates.AsSpan(q * k, found[q]).ToArray().Select(c => new VectorHit(long.Parse(index.KeyOf(c.Ordinal), CultureInfo.InvariantCulture), c.ProxyScore, index.StampOf(c.Ordinal)))];
            }

            return Task.FromResult<IReadOnlyList<IReadOnlyList<VectorHit>>>(results);
        }
    }

    private EmbeddedVectorIndex Ready() => _index ?? throw new InvalidOperationException("call EnsureReadyAsync first.");

    private void RemoveLocked(IEnumerable<long> ids)
    {
        var doomed = new HashSet<int>();
        foreach (var id in ids)
        {
            if (_ordinals.TryGetValue(id, out var ordinal))
            {
                doomed.Add(ordinal);
            }
        }

        if (doomed.Count == 0)
        {
            return;
        }

        var index = Ready();
        index.Retain(ordinal => !doomed.Contains(ordinal));
        _ordinals.Clear();
        for (var ordinal = 0; ordinal < index.Count; ordinal++)
        {
            _ordinals[long.Parse(index.KeyOf(ordinal), CultureInfo.InvariantCulture)] = ordinal;
        }
    }
}

/// <summary>Full embeddings in process memory, keyed by gallery id.</summary>
public sealed class InMemoryEmbeddingStore : IEmbeddingStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, float[]> _embeddings = new();

    public Task PutAsync(IReadOnlyList<(long Id, float[] Embedding)> embeddings, CancellationToken cancellationToken)
    {
        foreach (var (id, embedding) in embeddings)
        {
            _embeddings[id] = embedding;
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyDictionary<long, float[]>> GetAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        var found = new Dictionary<long, float[]>(ids.Count);
        foreach (var id in ids)
        {
            if (_embeddings.TryGetValue(id, out var embedding))
            {
                found[id] = embedding;
            }
        }

        return Task.FromResult<IReadOnlyDictionary<long, float[]>>(found);
    }
}
