using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;
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
public sealed class EmbeddedVectorIndex : IVectorIndex
{
    private const int FileMagic = 0x49434458; // "ICDX"
    private const int FileVersion = 1;

    /// <summary>Gallery bytes scanned per chunk: small enough to stay in a core's L2 cache while its queries pass over it.</summary>
    private const int GalleryChunkBytes = 256 * 1024;

    private readonly List<string> _keys = [];
    private readonly List<string> _stamps = [];
    private float[] _proxies;
    private float[] _embeddings;

    public EmbeddedVectorIndex(int tokens, int dim, int capacity = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        Tokens = tokens;
        Dim = dim;
        capacity = Math.Max(capacity, 16);
        _proxies = new float[capacity * dim];
        _embeddings = tokens == 1 ? _proxies : new float[capacity * tokens * dim];
    }

    public int Tokens { get; }

    public int Dim { get; }

    public int Count => _keys.Count;

    public int EmbeddingLength => Tokens * Dim;

    public string KeyOf(int ordinal) => _keys[ordinal];

    public string StampOf(int ordinal) => _stamps[ordinal];

    public ReadOnlySpan<float> EmbeddingOf(int ordinal) => _embeddings.AsSpan(ordinal * EmbeddingLength, EmbeddingLength);

    public ReadOnlySpan<float> ProxyOf(int ordinal) => _proxies.AsSpan(ordinal * Dim, Dim);

    /// <summary>Adds an entry; <paramref name="embedding"/> must have its tokens normalised already.</summary>
    public void Add(string key, string stamp, ReadOnlySpan<float> embedding)
    {
        if (embedding.Length != EmbeddingLength)
        {
            throw new ArgumentException($"embedding has {embedding.Length} floats; this index holds {Tokens} x {Dim}.", nameof(embedding));
        }

        EnsureCapacity(Count + 1);
        var ordinal = Count;
        embedding.CopyTo(_embeddings.AsSpan(ordinal * EmbeddingLength, EmbeddingLength));
        if (Tokens > 1)
        {
            EmbeddingMath.Proxy(embedding, Tokens, _proxies.AsSpan(ordinal * Dim, Dim));
        }

        _keys.Add(key);
        _stamps.Add(stamp);
    }

    /// <summary>Drops every entry whose ordinal <paramref name="keep"/> rejects, preserving order; returns how many.</summary>
    public int Retain(Func<int, bool> keep)
    {
        var write = 0;
        for (var read = 0; read < Count; read++)
        {
            if (!keep(read))
            {
                continue;
            }

            if (write != read)
            {
                _keys[write] = _keys[read];
                _stamps[write] = _stamps[read];
                _embeddings.AsSpan(read * EmbeddingLength, EmbeddingLength).CopyTo(_embeddings.AsSpan(write * EmbeddingLength, EmbeddingLength));
                if (Tokens > 1)
                {
                    _proxies.AsSpan(read * Dim, Dim).CopyTo(_proxies.AsSpan(write * Dim, Dim));
                }
            }

            write++;
        }

        var removed = Count - write;
        _keys.RemoveRange(write, removed);
        _stamps.RemoveRange(write, removed);
        return removed;
    }

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
        var gallery = _proxies;
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

            for (var start = 0; start < count; start += chunk)
            {
                var end = Math.Min(count, start + chunk);
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
                        heaps[h].Offer(g, first0.X);
                        heaps[h + 1].Offer(g, first0.Y);
                        heaps[h + 2].Offer(g, first0.Z);
                        heaps[h + 3].Offer(g, first0.W);
                        heaps[h].Offer(g + 1, second.X);
                        heaps[h + 1].Offer(g + 1, second.Y);
                        heaps[h + 2].Offer(g + 1, second.Z);
                        heaps[h + 3].Offer(g + 1, second.W);
                    }

                    for (; g < end; g++)
                    {
                        var scores = DotProducts.Four(gallery.AsSpan(g * dim, dim), q0, q1, q2, q3);
                        heaps[h].Offer(g, scores.X);
                        heaps[h + 1].Offer(g, scores.Y);
                        heaps[h + 2].Offer(g, scores.Z);
                        heaps[h + 3].Offer(g, scores.W);
                    }
                }

                for (; q < last; q++)
                {
                    var query = queries.AsSpan(q * dim, dim);
                    for (var g = start; g < end; g++)
                    {
                        heaps[q - first].Offer(g, TensorPrimitives.Dot(query, gallery.AsSpan(g * dim, dim)));
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

    public void Save(string path)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8))
        {
            writer.Write(FileMagic);
            writer.Write(FileVersion);
            writer.Write(Tokens);
            writer.Write(Dim);
            writer.Write(Count);
            for (var i = 0; i < Count; i++)
            {
                writer.Write(_keys[i]);
                writer.Write(_stamps[i]);
            }

            writer.Write(MemoryMarshal.AsBytes(_embeddings.AsSpan(0, Count * EmbeddingLength)));
            stream.Flush(flushToDisk: true);
        }

        // Rename last, so a crash mid-write never leaves a half index under the real name.
        File.Move(temporary, path, overwrite: true);
    }

    public static EmbeddedVectorIndex Load(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        if (reader.ReadInt32() != FileMagic || reader.ReadInt32() != FileVersion)
        {
            throw new InvalidDataException($"'{path}' is not an index file of this version.");
        }

        var tokens = reader.ReadInt32();
        var dim = reader.ReadInt32();
        var count = reader.ReadInt32();
        if (tokens < 1 || dim < 1 || count < 0 || (long)tokens * dim * count > int.MaxValue)
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

    private void EnsureCapacity(int entries)
    {
        if (entries * Dim <= _proxies.Length)
        {
            return;
        }

        var capacity = Math.Max(entries, _proxies.Length / Dim * 2);
        Array.Resize(ref _proxies, capacity * Dim);
        if (Tokens == 1)
        {
            _embeddings = _proxies;
        }
        else
        {
            Array.Resize(ref _embeddings, capacity * EmbeddingLength);
        }
    }
}
