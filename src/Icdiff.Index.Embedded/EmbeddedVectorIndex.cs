using System.Runtime.InteropServices;
using Icdiff.Core;

namespace Icdiff.Index.Embedded;

/// <summary>
/// Exact top-k by proxy cosine over every gallery entry. Vectors are normalised on insertion, so a cosine is one
/// SIMD dot product; queries are processed in parallel and each scans the gallery in cache-sized blocks.
/// Full embeddings are kept alongside for exact re-scoring (for single-token models they are the proxies). Ordinals
/// follow insertion (the order gallery batches finished), so equal scores are ranked by key instead
/// (<see cref="GalleryRanking"/>): a search gives the same candidates whatever order the gallery was added in.
/// Not thread-safe for writes; searches may run concurrently once writing is done.
/// </summary>
public sealed class EmbeddedVectorIndex : IGalleryIndex
{
    private const int FileMagic = 0x49434458; // "ICDX"
    private const int FileVersion = 1;

    /// <summary>Gallery bytes scanned per chunk: small enough to stay in a core's L2 cache while its queries pass over it.</summary>
    private const int GalleryChunkBytes = 256 * 1024;

    /// <summary>Entries per storage block at most: blocks keep every array far below .NET's 2^31-element limit.</summary>
    private const int MaxBlockEntries = 16_384;

    private readonly List<string> _keys = [];
    private readonly List<string> _stamps = [];

    // Entries live in blocks of BlockEntries (the last one grows by doubling until it is full), so a gallery's size is
    // bounded by memory, not by one array's length: 300,000 six-token 768-d entries are 1.4e9 floats, and the doubling
    // of one flat array overflowed int arithmetic past 262,144 of them.
    private readonly List<float[]> _proxyBlocks = [];
    private readonly List<float[]> _embeddingBlocks = [];

    public EmbeddedVectorIndex(int tokens, int dim, int capacity = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        if ((long)tokens * dim > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), $"{tokens} x {dim} floats per entry exceed the largest array.");
        }

        Tokens = tokens;
        Dim = dim;
        BlockEntries = (int)Math.Max(1, Math.Min(MaxBlockEntries, Array.MaxLength / ((long)tokens * dim)));
        var first = Math.Min(BlockEntries, Math.Max(capacity, 16));
        _proxyBlocks.Add(new float[first * dim]);
        _embeddingBlocks.Add(tokens == 1 ? _proxyBlocks[0] : new float[first * tokens * dim]);
    }

    public int Tokens { get; }

    public int Dim { get; }

    public int Count => _keys.Count;

    public int EmbeddingLength => Tokens * Dim;

    /// <summary>Entries per storage block (every block but the last holds exactly this many).</summary>
    internal int BlockEntries { get; }

    public string KeyOf(int ordinal) => _keys[ordinal];

    public string StampOf(int ordinal) => _stamps[ordinal];

    public ReadOnlySpan<float> EmbeddingOf(int ordinal) => EmbeddingSlot(ordinal);

    public ReadOnlySpan<float> ProxyOf(int ordinal) => ProxySlot(ordinal);

    /// <summary>The embedding of <paramref name="ordinal"/> as memory, so a caller can keep it past a span's scope without copying.</summary>
    public ReadOnlyMemory<float> EmbeddingMemoryOf(int ordinal)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)ordinal, (uint)Count, nameof(ordinal));
        return _embeddingBlocks[ordinal / BlockEntries].AsMemory(ordinal % BlockEntries * EmbeddingLength, EmbeddingLength);
    }

    /// <summary>Adds an entry; <paramref name="embedding"/> must have its tokens normalised already.</summary>
    public void Add(string key, string stamp, ReadOnlySpan<float> embedding)
    {
        if (embedding.Length != EmbeddingLength)
        {
            throw new ArgumentException($"embedding has {embedding.Length} floats; this index holds {Tokens} x {Dim}.", nameof(embedding));
        }

        EnsureCapacity(Count + 1);
        var ordinal = Count;
        _keys.Add(key);
        _stamps.Add(stamp);
        embedding.CopyTo(EmbeddingSlot(ordinal));
        if (Tokens > 1)
        {
            EmbeddingMath.Proxy(embedding, Tokens, ProxySlot(ordinal));
        }
    }

    /// <summary>Drops every entry whose ordinal <paramref name="keep"/> rejects, preserving order; returns how many.</summary>
    public int Retain(Func<int, bool> keep)
    {
        var write = OrdinalCompaction.Compact(Count, keep, (read, to) =>
        {
            _keys[to] = _keys[read];
            _stamps[to] = _stamps[read];
            EmbeddingSlot(read).CopyTo(EmbeddingSlot(to));
            if (Tokens > 1)
            {
                ProxySlot(read).CopyTo(ProxySlot(to));
            }
        });
        var removed = Count - write;
        _keys.RemoveRange(write, removed);
        _stamps.RemoveRange(write, removed);
        return removed;
    }

    long IGalleryIndex.Count => Count;

    public ValueTask<GalleryCandidate[][]> FindCandidatesAsync(ReadOnlyMemory<float> proxies, int queryCount, int k, CancellationToken cancellationToken)
    {
        var candidates = new IndexCandidate[queryCount * k];
        var found = new int[queryCount];
        Search(proxies.Span, queryCount, k, candidates, found);
        var results = new GalleryCandidate[queryCount][];
        for (var q = 0; q < queryCount; q++)
        {
            var row = new GalleryCandidate[found[q]];
            for (var c = 0; c < row.Length; c++)
            {
                var (ordinal, score) = candidates[(q * k) + c];
                row[c] = new GalleryCandidate(_keys[ordinal], _stamps[ordinal], score, EmbeddingMemoryOf(ordinal));
            }

            results[q] = row;
        }

        return ValueTask.FromResult(results);
    }

    /// <summary>
    /// Top-<paramref name="k"/> candidates by proxy cosine for each of <paramref name="queryCount"/> proxies,
    /// best first, written to <paramref name="results"/> (queryCount x k; fewer when the gallery is smaller). Equal
    /// scores are ranked by key (<see cref="GalleryRanking.Compare"/>), never by insertion order.
    /// </summary>
    public void Search(ReadOnlySpan<float> proxies, int queryCount, int k, Span<IndexCandidate> results, Span<int> found)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (proxies.Length < queryCount * Dim || results.Length < queryCount * k || found.Length < queryCount)
        {
            throw new ArgumentException($"search of {queryCount} queries with k = {k} needs {queryCount * Dim} query floats, {queryCount * k} result slots and {queryCount} counts.");
        }

        var take = Math.Min(k, Count);
        if (take == 0)
        {
            found[..queryCount].Clear();
            return;
        }

        // Spans cannot cross into the parallel lambda; copy the (small) query and result arrays once.
        var queries = proxies[..(queryCount * Dim)].ToArray();
        var output = new IndexCandidate[queryCount * k];
        var counts = new int[queryCount];
        var blocks = _proxyBlocks;
        var blockEntries = BlockEntries;
        var keys = _keys;
        var count = Count;
        var dim = Dim;
        // Each worker takes a share of the queries and walks the gallery in cache-sized chunks, scoring its queries
        // four at a time against every vector of the chunk: a chunk is read from memory once per worker and then
        // served from cache, and each gallery vector load feeds four multiply-adds (see DotProducts.Four).
        var workers = Math.Min(Environment.ProcessorCount, (queryCount + 3) / 4);
        var chunk = Math.Max(16, GalleryChunkBytes / (dim * sizeof(float)));
        Parallel.For(0, workers, worker =>
        {
            var first = (int)((long)queryCount * worker / workers);
            var last = (int)((long)queryCount * (worker + 1) / workers);
            var heaps = new TopK[last - first];
            for (var i = 0; i < heaps.Length; i++)
            {
                heaps[i] = new TopK(take, keys);
            }

            for (var blockStart = 0; blockStart < count; blockStart += blockEntries)
            {
                var gallery = blocks[blockStart / blockEntries];
                var blockCount = Math.Min(blockEntries, count - blockStart);
                for (var start = 0; start < blockCount; start += chunk)
                {
                    var end = Math.Min(blockCount, start + chunk);
                    var q = first;
                    for (; q + 4 <= last; q += 4)
                    {
                        var q0 = queries.AsSpan(q * dim, dim);
                        var q1 = queries.AsSpan((q + 1) * dim, dim);
                        var q2 = queries.AsSpan((q + 2) * dim, dim);
                        var q3 = queries.AsSpan((q + 3) * dim, dim);
                        var h = q - first;
                        var g = start;
                        for (; g + 2 <= end; g += 2)
                        {
                            var (first0, second) = DotProducts.FourByTwo(gallery.AsSpan(g * dim, dim), gallery.AsSpan((g + 1) * dim, dim), q0, q1, q2, q3);
                            heaps[h].Offer(blockStart + g, first0.X);
                            heaps[h + 1].Offer(blockStart + g, first0.Y);
                            heaps[h + 2].Offer(blockStart + g, first0.Z);
                            heaps[h + 3].Offer(blockStart + g, first0.W);
                            heaps[h].Offer(blockStart + g + 1, second.X);
                            heaps[h + 1].Offer(blockStart + g + 1, second.Y);
                            heaps[h + 2].Offer(blockStart + g + 1, second.Z);
                            heaps[h + 3].Offer(blockStart + g + 1, second.W);
                        }

                        for (; g < end; g++)
                        {
                            var scores = DotProducts.Four(gallery.AsSpan(g * dim, dim), q0, q1, q2, q3);
                            heaps[h].Offer(blockStart + g, scores.X);
                            heaps[h + 1].Offer(blockStart + g, scores.Y);
                            heaps[h + 2].Offer(blockStart + g, scores.Z);
                            heaps[h + 3].Offer(blockStart + g, scores.W);
                        }
                    }

                    for (; q < last; q++)
                    {
                        var query = queries.AsSpan(q * dim, dim);
                        for (var g = start; g < end; g++)
                        {
                            heaps[q - first].Offer(blockStart + g, DotProducts.One(gallery.AsSpan(g * dim, dim), query));
                        }
                    }
                }
            }

            for (var q = first; q < last; q++)
            {
                counts[q] = heaps[q - first].DrainDescending(output.AsSpan(q * k, k));
            }
        });
        output.AsSpan().CopyTo(results);
        counts.AsSpan().CopyTo(found);
    }

    /// <summary>Writes the index atomically (<see cref="IndexFiles.WriteAtomically"/>): keys and stamps, then the embedding blocks.</summary>
    public void Save(string path) => IndexFiles.WriteAtomically(path, FileMagic, FileVersion, writer =>
    {
        writer.Write(Tokens);
        writer.Write(Dim);
        writer.Write(Count);
        for (var i = 0; i < Count; i++)
        {
            writer.Write(_keys[i]);
            writer.Write(_stamps[i]);
        }

        IndexFiles.WriteBlocks(writer, _embeddingBlocks, Count, BlockEntries, EmbeddingLength);
    });

    public static EmbeddedVectorIndex Load(string path)
    {
        using var reader = IndexFiles.OpenChecked(path, FileMagic, FileVersion, "an index file");
        var stream = reader.BaseStream;
        var tokens = reader.ReadInt32();
        var dim = reader.ReadInt32();
        var count = reader.ReadInt32();
        // The embeddings follow the keys, so the file must be at least that long: a damaged count cannot make the
        // loader allocate more than the file could hold.
        if (tokens < 1 || dim < 1 || count < 0 || (long)tokens * dim > Array.MaxLength || (long)tokens * dim * sizeof(float) * count > stream.Length)
        {
            throw new InvalidDataException($"'{path}' declares an impossible shape ({count} x {tokens} x {dim}).");
        }

        var index = new EmbeddedVectorIndex(tokens, dim, count);
        var keys = new string[count];
        var stamps = new string[count];
        for (var i = 0; i < count; i++)
        {
            keys[i] = reader.ReadString();
            stamps[i] = reader.ReadString();
        }

        var embedding = new float[tokens * dim];
        var bytes = MemoryMarshal.AsBytes(embedding.AsSpan());
        for (var i = 0; i < count; i++)
        {
            reader.BaseStream.ReadExactly(bytes);
            index.Add(keys[i], stamps[i], embedding);
        }

        return index;
    }

    private Span<float> EmbeddingSlot(int ordinal) =>
        _embeddingBlocks[ordinal / BlockEntries].AsSpan(ordinal % BlockEntries * EmbeddingLength, EmbeddingLength);

    private Span<float> ProxySlot(int ordinal) =>
        _proxyBlocks[ordinal / BlockEntries].AsSpan(ordinal % BlockEntries * Dim, Dim);

    private void EnsureCapacity(int entries)
    {
        var last = _proxyBlocks.Count - 1;
        var held = ((long)last * BlockEntries) + (_proxyBlocks[last].Length / Dim);
        if (entries <= held)
        {
            return;
        }

        var lastEntries = _proxyBlocks[last].Length / Dim;
        if (lastEntries < BlockEntries)
        {
            // The last block grows by doubling until it is full, so a small gallery costs little memory.
            var grown = (int)Math.Min(BlockEntries, Math.Max(entries - ((long)last * BlockEntries), 2L * lastEntries));
            var proxies = _proxyBlocks[last];
            Array.Resize(ref proxies, grown * Dim);
            _proxyBlocks[last] = proxies;
            if (Tokens == 1)
            {
                _embeddingBlocks[last] = proxies;
            }
            else
            {
                var embeddings = _embeddingBlocks[last];
                Array.Resize(ref embeddings, grown * EmbeddingLength);
                _embeddingBlocks[last] = embeddings;
            }

            return;
        }

        var block = new float[BlockEntries * Dim];
        _proxyBlocks.Add(block);
        _embeddingBlocks.Add(Tokens == 1 ? block : new float[BlockEntries * EmbeddingLength]);
    }
}
