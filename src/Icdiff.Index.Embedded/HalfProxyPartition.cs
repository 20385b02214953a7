using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Icdiff.Core;

namespace Icdiff.Index.Embedded;

/// <summary>A candidate of a half-precision partition: its ordinal there and its float16 proxy cosine.</summary>
public readonly record struct ApproximateCandidate(int Ordinal, float ApproximateScore);

/// <summary>
/// One partition of a gallery's proxy vectors, held in float16: half the memory of float32, so a silo holding a
/// share of a 12M gallery needs 1.5 KB per 768-d image. A search does not trust the float16 cosines to rank: it returns
/// every entry that can still belong to the exact float32 top-k (<see cref="SearchCandidates"/>), and the caller re-ranks
/// those with the float32 proxies (<see cref="ExactRanking"/>), which gives exactly the candidates and scores of an
/// <see cref="EmbeddedVectorIndex"/> over the whole gallery, however the gallery is partitioned.
/// Not thread-safe for writes; searches may run concurrently once writing is done.
/// </summary>
public sealed class HalfProxyPartition
{
    /// <summary>
    /// How far a float16 cosine of unit vectors may lie from the float32 one. Rounding a component to float16 moves it
    /// by at most 2^-11 of itself, so the dot product moves by at most 2^-11 x sum |q_i g_i| &lt;= 2^-11 (4.9e-4) by
    /// Cauchy-Schwarz; float32 accumulation over a few thousand terms adds well under 1e-5. 1e-3 bounds both with room.
    /// </summary>
    public const float ScoreErrorBound = 1e-3f;

    private const int FileMagic = 0x49434850; // "ICHP"
    private const int FileVersion = 1;
    private const int BlockEntries = 16_384;

    /// <summary>Gallery entries converted to float32 per step of a search: a chunk stays in a core's L2 cache.</summary>
    private const int ChunkBytes = 256 * 1024;

    private readonly List<string> _keys = [];
    private readonly List<string> _stamps = [];
    private readonly List<long> _locators = [];
    private readonly List<Half[]> _blocks = [];

    public HalfProxyPartition(int dim)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dim, Array.MaxLength / BlockEntries);
        Dim = dim;
    }

    public int Dim { get; }

    public int Count => _keys.Count;

    /// <summary>Bytes of proxy storage held (what a silo's memory grows by per partition).</summary>
    public long ProxyBytes => _blocks.Sum(b => (long)b.Length) * 2;

    public string KeyOf(int ordinal) => _keys[ordinal];

    public string StampOf(int ordinal) => _stamps[ordinal];

    /// <summary>Where the entry's full embedding is kept, as the caller numbered it when adding the entry.</summary>
    public long LocatorOf(int ordinal) => _locators[ordinal];

    /// <summary>
    /// Adds an entry; <paramref name="proxy"/> must be normalised (it is stored rounded to float16).
    /// <paramref name="locator"/> tells the caller where the full embedding lies (the partition never reads it).
    /// </summary>
    public void Add(string key, string stamp, ReadOnlySpan<float> proxy, long locator = 0)
    {
        if (proxy.Length != Dim)
        {
            throw new ArgumentException($"proxy has {proxy.Length} floats; this partition holds {Dim}.", nameof(proxy));
        }

        if (Count % BlockEntries == 0 && Count / BlockEntries == _blocks.Count)
        {
            _blocks.Add(new Half[BlockEntries * Dim]);
        }
        else if (_blocks[^1].Length < (Count % BlockEntries + 1) * Dim)
        {
            // The last block was loaded at the size of its entries: give it back its full size to go on.
            var last = _blocks[^1];
            Array.Resize(ref last, BlockEntries * Dim);
            _blocks[^1] = last;
        }

        TensorPrimitives.ConvertToHalf(proxy, Slot(Count));
        _keys.Add(key);
        _stamps.Add(stamp);
        _locators.Add(locator);
    }

    /// <summary>
    /// Shrinks the last storage block to the entries it holds (blocks are allocated whole, 16,384 entries, 25 MB at
    /// 768-d, so a sealed partition could carry most of an empty block). <see cref="Add"/> grows it back.
    /// </summary>
    public void TrimExcess()
    {
        if (_blocks.Count == 0)
        {
            return;
        }

        var used = (Count - ((_blocks.Count - 1) * BlockEntries)) * Dim;
        if (_blocks[^1].Length > used)
        {
            var last = _blocks[^1];
            Array.Resize(ref last, used);
            _blocks[^1] = last;
        }
    }

    /// <summary>Drops every entry whose ordinal <paramref name="keep"/> rejects, preserving order; returns how many.</summary>
    public int Retain(Func<int, bool> keep)
    {
        var write = OrdinalCompaction.Compact(Count, keep, (read, to) =>
        {
            _keys[to] = _keys[read];
            _stamps[to] = _stamps[read];
            _locators[to] = _locators[read];
            Slot(read).CopyTo(Slot(to));
        });
        var removed = Count - write;
        _keys.RemoveRange(write, removed);
        _stamps.RemoveRange(write, removed);
        _locators.RemoveRange(write, removed);
        var blocksNeeded = (write + BlockEntries - 1) / BlockEntries;
        _blocks.RemoveRange(blocksNeeded, _blocks.Count - blocksNeeded);
        return removed;
    }

    /// <summary>
    /// For each query, every entry that may be among the exact float32 top-<paramref name="k"/>: those whose float16
    /// cosine is within 2 x <see cref="ScoreErrorBound"/> of the k-th best float16 cosine, best first (at most
    /// <paramref name="limit"/>). Why that suffices: k entries have float16 cosine >= t (the k-th best), so float32 cosine
    /// >= t - e, so the exact k-th best s* >= t - e; an entry of the exact top-k has s >= s*, so its float16 cosine is
    /// >= s - e >= t - 2e. The same holds per partition, so the union over partitions holds the whole gallery's top-k.
    /// </summary>
    public ApproximateCandidate[][] SearchCandidates(ReadOnlyMemory<float> queries, int queryCount, int k, int limit)
    {
        if (queries.Length < queryCount * Dim)
        {
            throw new ArgumentException($"{queryCount} queries need {queryCount * Dim} floats.", nameof(queries));
        }

        var rows = new ReadOnlyMemory<float>[queryCount];
        for (var q = 0; q < queryCount; q++)
        {
            rows[q] = queries.Slice(q * Dim, Dim);
        }

        return SearchCandidates(rows, k, limit);
    }

    /// <summary>
    /// <see cref="SearchCandidates(ReadOnlyMemory{float}, int, int, int)"/> over queries given one row each: a batch
    /// sent as rows arrives as small arrays that die young, where one flat array of a batch of 768-d queries lands on
    /// the large-object heap, which only a full collection frees (one per partition per batch, on a silo that serves
    /// partitions, piled up hundreds of megabytes between collections). Nothing is copied or allocated per search
    /// beyond the heaps and the candidates; the per-core scratch is pooled.
    /// </summary>
    public ApproximateCandidate[][] SearchCandidates(ReadOnlyMemory<float>[] queries, int k, int limit)
    {
        CheckSearch(queries, k, limit);
        var queryCount = queries.Length;

        if (Count == 0)
        {
            var none = new ApproximateCandidate[queryCount][];
            Array.Fill(none, []);
            return none;
        }

        var take = Math.Min(k, Count);
        var count = Count;
        var dim = Dim;
        // Entries per step, even so that rows pair up; a chunk never crosses a storage block.
        var chunk = Math.Max(16, ChunkBytes / (Dim * sizeof(float))) & ~1;
        var chunks = new List<(int Start, int End)>();
        for (int start = 0, end; start < count; start = end)
        {
            end = Math.Min(count, Math.Min(start + chunk, ((start / BlockEntries) + 1) * BlockEntries));
            chunks.Add((start, end));
        }

        // The gallery, not the queries, is split over the cores: each chunk is converted to float32 once per search and
        // scored against every query of the batch while it sits in cache (converting it once per core and per query
        // slice cost as much as the dot products at the pipeline's batch of 32). Each worker keeps its own bounds and
        // candidates per query; they are merged below.
        var workers = Math.Min(Environment.ProcessorCount, chunks.Count);
        var perWorker = new List<ApproximateCandidate>[workers][];
        Parallel.For(0, workers, worker =>
        {
            var heaps = new KthBestScore[queryCount];
            var floors = new float[queryCount];
            var kept = new List<ApproximateCandidate>[queryCount];
            for (var i = 0; i < queryCount; i++)
            {
                heaps[i] = new KthBestScore(take);
                floors[i] = float.NegativeInfinity;
                kept[i] = [];
            }

            var scratch = ArrayPool<float>.Shared.Rent(chunk * dim);
            try
            {
                for (var c = worker; c < chunks.Count; c += workers)
                {
                    var (start, end) = chunks[c];
                    var entries = end - start;
                    ConvertToSingle(StoredRange(start, end), scratch);
                    var next = c + workers < chunks.Count ? StoredRange(chunks[c + workers].Start, chunks[c + workers].End) : default;
                    ScoreChunk(scratch, entries, start, queries, dim, heaps, floors, kept, next);
                    for (var h = 0; h < kept.Length; h++)
                    {
                        if (kept[h].Count > 4 * limit)
                        {
                            Prune(kept[h], heaps[h].Value, limit);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scratch);
            }

            perWorker[worker] = kept;
        });

        // Each worker's candidates hold its own top-k, so their union holds the partition's: its k-th best is the
        // partition's float16 k-th best, the floor every candidate is measured against.
        var results = new ApproximateCandidate[queryCount][];
        Parallel.For(0, queryCount, q =>
        {
            var list = new List<ApproximateCandidate>();
            foreach (var kept in perWorker)
            {
                list.AddRange(kept[q]);
            }

            var heap = new KthBestScore(take);
            foreach (var candidate in list)
            {
                heap.Offer(candidate.ApproximateScore);
            }

            Prune(list, heap.Value, limit);
            results[q] = [.. list];
        });
        return results;
    }

    /// <summary>Throws for a search this partition cannot run: k below 1, a limit below k, a query of another dimension.</summary>
    public void CheckSearch(ReadOnlyMemory<float>[] queries, int k, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, k);
        foreach (var row in queries)
        {
            if (row.Length != Dim)
            {
                throw new ArgumentException($"a query has {row.Length} floats; this partition holds {Dim}.", nameof(queries));
            }
        }
    }

    /// <summary>
    /// Scores a converted chunk against every query, four queries at a time: by four gallery rows per step in 512-bit
    /// lanes where the machine has them (<see cref="WideDotProducts"/>), else by two rows as in the embedded search (6
    /// loads feed 8 multiply-adds, so the FMA units rather than the load ports set the pace). A last group of fewer than
    /// four queries repeats its last query in the unused lanes and ignores their scores. A score is looked at only
    /// against its query's floor (the k-th best so far less 2e), kept beside the heaps so that the common case, a score
    /// below it, costs one comparison. While it scores, it asks for the worker's next chunk of stored proxies to be
    /// brought into the L2 cache (<paramref name="next"/>, a few lines per step): a partition is larger than the L3
    /// cache, so each chunk's conversion otherwise waited on memory (a sixth of a silo's time at 250k entries).
    /// </summary>
    private static unsafe void ScoreChunk(float[] scratch, int entries, int start, ReadOnlyMemory<float>[] queries, int dim, KthBestScore[] heaps, float[] floors, List<ApproximateCandidate>[] kept, ReadOnlySpan<Half> next)
    {
        var queryCount = queries.Length;
        var wide = WideDotProducts.Supports(dim);
        Span<float> tile = stackalloc float[16];
        fixed (Half* nextStart = next)
        {
            var fetch = (byte*)nextStart;
            var fetchEnd = fetch + ((long)next.Length * sizeof(ushort));
            // Steps of this chunk: query groups x row steps; spread the next chunk's cache lines over them.
            var steps = Math.Max(1, ((queryCount + 3) / 4) * Math.Max(1, entries / 4));
            var linesPerStep = Sse.IsSupported ? (int)Math.Min(64, ((fetchEnd - fetch) / 64 / steps) + 1) : 0;
            for (var q = 0; q < queryCount; q += 4)
            {
                var lanes = Math.Min(4, queryCount - q);
                var q0 = queries[q].Span;
                var q1 = queries[Math.Min(q + 1, queryCount - 1)].Span;
                var q2 = queries[Math.Min(q + 2, queryCount - 1)].Span;
                var q3 = queries[Math.Min(q + 3, queryCount - 1)].Span;
                var g = 0;
                if (wide)
                {
                    for (; g + 4 <= entries; g += 4)
                    {
                        for (var line = 0; line < linesPerStep && fetch < fetchEnd; line++, fetch += 64)
                        {
                            Sse.Prefetch1(fetch);
                        }

                        WideDotProducts.FourByFour(ref scratch[g * dim], dim, q0, q1, q2, q3, tile);
                        for (var row = 0; row < 4; row++)
                        {
                            for (var lane = 0; lane < lanes; lane++)
                            {
                                Consider(heaps, floors, kept, q + lane, start + g + row, tile[(row * 4) + lane]);
                            }
                        }
                    }
                }

                for (; g + 2 <= entries; g += 2)
                {
                    var (first, second) = DotProducts.FourByTwo(scratch.AsSpan(g * dim, dim), scratch.AsSpan((g + 1) * dim, dim), q0, q1, q2, q3);
                    ConsiderLanes(heaps, floors, kept, q, lanes, start + g, first);
                    ConsiderLanes(heaps, floors, kept, q, lanes, start + g + 1, second);
                }

                for (; g < entries; g++)
                {
                    ConsiderLanes(heaps, floors, kept, q, lanes, start + g, DotProducts.Four(scratch.AsSpan(g * dim, dim), q0, q1, q2, q3));
                }
            }
        }
    }

    private static void ConsiderLanes(KthBestScore[] heaps, float[] floors, List<ApproximateCandidate>[] kept, int q, int lanes, int ordinal, System.Numerics.Vector4 scores)
    {
        Consider(heaps, floors, kept, q, ordinal, scores.X);
        if (lanes > 1)
        {
            Consider(heaps, floors, kept, q + 1, ordinal, scores.Y);
        }

        if (lanes > 2)
        {
            Consider(heaps, floors, kept, q + 2, ordinal, scores.Z);
        }

        if (lanes > 3)
        {
            Consider(heaps, floors, kept, q + 3, ordinal, scores.W);
        }
    }

    /// <summary>
    /// float16 to float32, exactly, 16 (AVX-512) or 8 (AVX2) at a time: each half is sign-extended to 32 bits and shifted
    /// so that its exponent and mantissa land in a float's; the mask keeps the sign bit and clears the sign copies above
    /// the 5-bit exponent, and scaling by 2^112 re-biases the exponent (which also turns half subnormals into the right
    /// normal floats and keeps both zeros). The library's conversion costs 1.6 ns per value here, as much as the dot
    /// products it feeds. Stored values are finite (unit vectors), so infinities and NaNs, which this shortcut would not
    /// keep, never occur.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ConvertToSingle(ReadOnlySpan<Half> source, Span<float> destination)
    {
        var i = 0;
        ref var from = ref Unsafe.As<Half, short>(ref MemoryMarshal.GetReference(source));
        ref var to = ref MemoryMarshal.GetReference(destination);
        if (Avx512F.IsSupported)
        {
            var scale = Vector512.Create(0x77800000u).AsSingle();
            var keep = Vector512.Create(0x8FFFE000u);
            for (; i + 16 <= source.Length; i += 16)
            {
                var bits = Avx512F.ConvertToVector512Int32(Vector256.LoadUnsafe(ref from, (nuint)i)).AsUInt32();
                ((Vector512.ShiftLeft(bits, 13) & keep).AsSingle() * scale).StoreUnsafe(ref to, (nuint)i);
            }
        }

        if (Avx2.IsSupported)
        {
            var scale = Vector256.Create(0x77800000u).AsSingle();
            var keep = Vector256.Create(0x8FFFE000u);
            for (; i + 8 <= source.Length; i += 8)
            {
                var bits = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref from, (nuint)i)).AsUInt32();
                ((Vector256.ShiftLeft(bits, 13) & keep).AsSingle() * scale).StoreUnsafe(ref to, (nuint)i);
            }
        }

        TensorPrimitives.ConvertToSingle(source[i..], destination[i..]);
    }

    /// <summary>Keeps an entry that may still reach the top-k: the floor only rises, so one below floor - 2e now never will.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Consider(KthBestScore[] heaps, float[] floors, List<ApproximateCandidate>[] kept, int h, int ordinal, float score)
    {
        if (score >= floors[h])
        {
            Keep(heaps, floors, kept, h, ordinal, score);
        }
    }

    /// <summary>Offers an entry at or above its query's floor, keeps it as a candidate and raises the floor with the heap.</summary>
    private static void Keep(KthBestScore[] heaps, float[] floors, List<ApproximateCandidate>[] kept, int h, int ordinal, float score)
    {
        heaps[h].Offer(score);
        kept[h].Add(new ApproximateCandidate(ordinal, score));
        floors[h] = heaps[h].Value - (2 * ScoreErrorBound);
    }

    /// <summary>Keeps the candidates within 2e of <paramref name="floor"/>, ranked, at most <paramref name="limit"/>.</summary>
    private void Prune(List<ApproximateCandidate> list, float floor, int limit)
    {
        list.RemoveAll(c => c.ApproximateScore < floor - (2 * ScoreErrorBound));
        list.Sort((a, b) => GalleryRanking.Compare(a.ApproximateScore, _keys[a.Ordinal], b.ApproximateScore, _keys[b.Ordinal]));
        if (list.Count > limit)
        {
            list.RemoveRange(limit, list.Count - limit);
        }
    }

    /// <summary>Writes the partition atomically (<see cref="IndexFiles.WriteAtomically"/>): keys, stamps and locators, then the float16 blocks.</summary>
    public void Save(string path) => IndexFiles.WriteAtomically(path, FileMagic, FileVersion, writer =>
    {
        writer.Write(Dim);
        writer.Write(Count);
        for (var i = 0; i < Count; i++)
        {
            writer.Write(_keys[i]);
            writer.Write(_stamps[i]);
            writer.Write(_locators[i]);
        }

        IndexFiles.WriteBlocks(writer, _blocks, Count, BlockEntries, Dim);
    });

    public static HalfProxyPartition Load(string path)
    {
        using var reader = IndexFiles.OpenChecked(path, FileMagic, FileVersion, "a partition file");
        var stream = reader.BaseStream;
        var dim = reader.ReadInt32();
        var count = reader.ReadInt32();
        if (dim < 1 || dim > Array.MaxLength / BlockEntries || count < 0 || (long)count * dim * 2 > stream.Length)
        {
            throw new InvalidDataException($"'{path}' declares an impossible shape ({count} x {dim}).");
        }

        var partition = new HalfProxyPartition(dim);
        for (var i = 0; i < count; i++)
        {
            partition._keys.Add(reader.ReadString());
            partition._stamps.Add(reader.ReadString());
            partition._locators.Add(reader.ReadInt64());
        }

        // Each block sized to what it holds (the last one is trimmed; Add grows it back if the partition is built on).
        for (var start = 0; start < count; start += BlockEntries)
        {
            var block = new Half[Math.Min(BlockEntries, count - start) * dim];
            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(block.AsSpan()));
            partition._blocks.Add(block);
        }

        return partition;
    }

    /// <summary>The stored proxies of entries <paramref name="start"/> up to <paramref name="end"/>, which lie in one block.</summary>
    private Span<Half> StoredRange(int start, int end) => _blocks[start / BlockEntries].AsSpan(start % BlockEntries * Dim, (end - start) * Dim);

    private Span<Half> Slot(int ordinal) => _blocks[ordinal / BlockEntries].AsSpan(ordinal % BlockEntries * Dim, Dim);
}

/// <summary>
/// The exact float32 ranking of candidates gathered from partitions: each scored against its float32 proxy with the
/// arithmetic of <see cref="EmbeddedVectorIndex"/>'s search, ordered by <see cref="GalleryRanking"/>, cut at k.
/// </summary>
public static class ExactRanking
{
    /// <summary>
    /// The best <paramref name="k"/> of <paramref name="candidates"/> for <paramref name="query"/>: positions into the
    /// list with their exact cosines, best first.
    /// </summary>
    public static IReadOnlyList<(int Position, float Score)> Cut(
        ReadOnlySpan<float> query,
        IReadOnlyList<string> keys,
        IReadOnlyList<ReadOnlyMemory<float>> proxies,
        int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (keys.Count != proxies.Count)
        {
            throw new ArgumentException($"{keys.Count} keys but {proxies.Count} proxies.", nameof(proxies));
        }

        var scored = new List<(int Position, float Score)>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            scored.Add((i, DotProducts.One(proxies[i].Span, query)));
        }

        scored.Sort((a, b) => GalleryRanking.Compare(a.Score, keys[a.Position], b.Score, keys[b.Position]));
        return scored.Count > k ? scored[..k] : scored;
    }
}
