using System.Runtime.InteropServices;
using Icdiff.Core;
using Icdiff.Index.Embedded;
using Microsoft.Win32.SafeHandles;

namespace Icdiff.Grains;

/// <summary>
/// A worker's view of a sharded gallery snapshot: each query batch goes to every partition at once, the candidates
/// they return (a superset of each one's exact top-k) have their full embeddings read from the token segments, and
/// are re-ranked by their float32 proxies and cut at k, which gives exactly the embedded index's candidates.
/// </summary>
internal sealed class ShardedGalleryIndex(IGrainFactory grains, GallerySnapshot snapshot, int tokens, int embeddingLength, TokenSegmentCache tokensRead, int limitFactor) : IGalleryIndex
{
    public long Count => snapshot.Count;

    public int EmbeddingLength => embeddingLength;

    public async ValueTask<GalleryCandidate[][]> FindCandidatesAsync(ReadOnlyMemory<float> proxies, int queryCount, int k, CancellationToken cancellationToken)
    {
        var files = snapshot.Partitions ?? throw new InvalidOperationException($"sharded gallery snapshot {snapshot.Path} names no partitions.");
        var dim = embeddingLength / tokens;
        var queries = proxies[..(queryCount * dim)].ToArray();
        var limit = (int)Math.Min(int.MaxValue, (long)k * limitFactor);
        var answers = await Task.WhenAll(files.Select((file, i) =>
            grains.GetGrain<IGalleryPartitionGrain>(ShardedGalleryIndexGrain.PartitionKey(snapshot.Path, i, files.Count))
                .SearchAsync(new PartitionSearch(file, queries, queryCount, k, limit))));

        // Re-ranking reads files and computes dot products: off the caller's thread, as the search stage expects.
        return await Task.Run(
            () => TokenReRanking.Cut(queries, queryCount, k, tokens, embeddingLength, tokensRead, (q, candidates) =>
            {
                var floor = MergedFloor(answers, q, k);
                foreach (var answer in answers)
                {
                    for (var c = 0; c < answer.Keys[q].Length; c++)
                    {
                        if (answer.Scores[q][c] >= floor)
                        {
                            candidates.Add(new StoredCandidate(answer.Keys[q][c], answer.Stamps[q][c], answer.Folder, answer.Locators[q][c]));
                        }
                    }
                }
            }),
            cancellationToken);
    }
    /// <summary>
    /// Each partition returned a superset of its own top-k; their union holds every partition's, so also the global
    /// top-k, but up to P x k entries. The same rule cuts the union before any token is read: with T the k-th best
    /// float16 cosine in it and e the float16 error bound, k entries have exact cosines of at least T - e, so the
    /// global k-th exact cosine is at least T - e and each of the global top-k has a float16 cosine of at least T - 2e.
    /// Keeping what is at or above T - 2e keeps all of them (and their exact ties): about k reads a query, not P x k.
    /// </summary>
    internal static float MergedFloor(PartitionHits[] answers, int query, int k)
    {
        var total = answers.Sum(a => a.Scores[query].Length);
        if (total <= k)
        {
            return float.NegativeInfinity;
        }

        var scores = new float[total];
        var at = 0;
        foreach (var answer in answers)
        {
            answer.Scores[query].CopyTo(scores, at);
            at += answer.Scores[query].Length;
        }

        // The k-th largest: sort descending by sorting ascending and indexing from the end.
        Array.Sort(scores);
        return scores[total - k] - (2 * HalfProxyPartition.ScoreErrorBound);
    }
}

/// <summary>A candidate whose full embedding is in a token segment: key, stamp, segment folder and locator.</summary>
internal readonly record struct StoredCandidate(string Key, string Stamp, string Folder, long Locator);

/// <summary>
/// The exact cut of candidates that a backend returned from a coarser search (float16 partitions, Milvus): each
/// candidate's full embedding is read from its token segment, its float32 proxy computed as the embedded index
/// computes it, and the candidates ranked by <see cref="ExactRanking"/> and cut at k, which gives the embedded
/// index's candidates whenever the coarse search returned a superset of them.
/// </summary>
internal static class TokenReRanking
{
    public static GalleryCandidate[][] Cut(float[] queries, int queryCount, int k, int tokens, int embeddingLength, TokenSegmentCache tokensRead, Action<int, List<StoredCandidate>> candidatesOf)
    {
        var dim = embeddingLength / tokens;
        var results = new GalleryCandidate[queryCount][];
        var candidates = new List<StoredCandidate>();
        var keys = new List<string>();
        var embeddings = new List<ReadOnlyMemory<float>>();
        var rankBy = new List<ReadOnlyMemory<float>>();
        for (var q = 0; q < queryCount; q++)
        {
            candidates.Clear();
            keys.Clear();
            embeddings.Clear();
            rankBy.Clear();
            candidatesOf(q, candidates);
            foreach (var candidate in candidates)
            {
                var embedding = tokensRead.Read(candidate.Folder, candidate.Locator, embeddingLength);
                keys.Add(candidate.Key);
                embeddings.Add(embedding);
                if (tokens == 1)
                {
                    rankBy.Add(embedding);
                }
                else
                {
                    // The proxy the embedded index would hold: the same function of the same float32 tokens.
                    var proxy = new float[dim];
                    EmbeddingMath.Proxy(embedding, tokens, proxy);
                    rankBy.Add(proxy);
                }
            }

            var ranked = ExactRanking.Cut(queries.AsSpan(q * dim, dim), keys, rankBy, k);
            results[q] = [.. ranked.Select(r => new GalleryCandidate(keys[r.Position], candidates[r.Position].Stamp, r.Score, embeddings[r.Position]))];
        }

        return results;
    }
}

/// <summary>
/// Reads gallery embeddings from token segment files, keeping the most recently used ones up to a byte bound: a
/// gallery image that is a candidate for many queries (a popular image, a near-duplicate cluster) is read once.
/// </summary>
public sealed class TokenSegmentCache(long capacityBytes) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Folder, long Locator), LinkedListNode<(string Folder, long Locator, float[] Embedding)>> _entries = [];
    private readonly LinkedList<(string Folder, long Locator, float[] Embedding)> _recent = new();
    private readonly Dictionary<string, SafeFileHandle> _files = new(StringComparer.Ordinal);
    private long _bytes;

    public float[] Read(string folder, long locator, int embeddingLength)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue((folder, locator), out var node))
            {
                _recent.Remove(node);
                _recent.AddFirst(node);
                return node.Value.Embedding;
            }
        }

        var path = TokenSegmentWriter.SegmentPath(folder, locator >> TokenSegmentWriter.SegmentShift);
        var record = locator & ((1L << TokenSegmentWriter.SegmentShift) - 1);
        var embedding = new float[embeddingLength];
        var bytes = MemoryMarshal.AsBytes(embedding.AsSpan());
        var offset = record * bytes.Length;
        var handle = Handle(path);
        var read = 0;
        while (read < bytes.Length)
        {
            var n = RandomAccess.Read(handle, bytes[read..], offset + read);
            if (n == 0)
            {
                throw new InvalidDataException($"token segment '{path}' ends before record {record}: the gallery index is damaged; index the gallery again.");
            }

            read += n;
        }

        lock (_gate)
        {
            if (capacityBytes > 0 && !_entries.ContainsKey((folder, locator)))
            {
                _entries[(folder, locator)] = _recent.AddFirst((folder, locator, embedding));
                _bytes += bytes.Length;
                while (_bytes > capacityBytes && _recent.Last is { } oldest)
                {
                    _recent.RemoveLast();
                    _entries.Remove((oldest.Value.Folder, oldest.Value.Locator));
                    _bytes -= oldest.Value.Embedding.Length * sizeof(float);
                }
            }
        }

        return embedding;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var handle in _files.Values)
            {
                handle.Dispose();
            }

            _files.Clear();
        }
    }

    private SafeFileHandle Handle(string path)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(path, out var handle))
            {
                handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                _files[path] = handle;
            }

            return handle;
        }
    }
}
