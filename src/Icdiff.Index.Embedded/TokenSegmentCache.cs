using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Icdiff.Index.Embedded;

/// <summary>
/// Reads gallery embeddings from token segment files, keeping the most recently used ones up to a byte bound: a
/// gallery image that is a candidate for many queries (a popular image, a near-duplicate cluster) is read once.
/// The kept embeddings live in one native slab of fixed-size slots that this cache owns, not in the GC heap: cached
/// arrays outlived the young generations, so each one evicted became old-generation garbage that only a full
/// collection freed, and a querying silo's memory grew by a good part of the bound beyond it. The slab's pages are
/// touched only as slots fill, so an idle or small gallery costs no more than it holds. Each read hands out its own
/// copy (short-lived, collected young), so an evicted slot is never seen by a caller. Thread-safe.
/// </summary>
public sealed unsafe class TokenSegmentCache(long capacityBytes) : IDisposable
{
    private const int None = -1;

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Folder, long Locator), int> _slotOf = [];
    private readonly Dictionary<string, SafeFileHandle> _files = new(StringComparer.Ordinal);

    // The slab and its least-recently-used list over slot numbers (head = most recent); all set up on the first read,
    // which tells the embedding length, and again should a later read ask for another length.
    private float* _slab;
    private int _slotLength;
    private int _slots;
    private int _used;
    private (string Folder, long Locator)[] _keys = [];
    private int[] _newer = [];
    private int[] _older = [];
    private int _head = None;
    private int _tail = None;
    private bool _disposed;

    /// <summary>Bytes of embeddings held now (at most the bound).</summary>
    public long HeldBytes
    {
        get
        {
            lock (_gate)
            {
                return (long)_used * _slotLength * sizeof(float);
            }
        }
    }

    /// <summary>The embedding stored at <paramref name="locator"/> of the segments in <paramref name="folder"/>, as a new array.</summary>
    public float[] Read(string folder, long locator, int embeddingLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingLength, 1);
        var embedding = new float[embeddingLength];
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_slotLength == embeddingLength && _slotOf.TryGetValue((folder, locator), out var slot))
            {
                MoveToHead(slot);
                new ReadOnlySpan<float>(Slot(slot), embeddingLength).CopyTo(embedding);
                return embedding;
            }
        }

        ReadFromSegment(folder, locator, embedding);
        lock (_gate)
        {
            if (!_disposed && capacityBytes >= (long)embeddingLength * sizeof(float))
            {
                if (_slotLength != embeddingLength)
                {
                    Reset(embeddingLength);
                }

                if (_slotOf.ContainsKey((folder, locator)))
                {
                    // Another reader cached it meanwhile.
                    return embedding;
                }

                var slot = TakeSlot();
                embedding.CopyTo(new Span<float>(Slot(slot), embeddingLength));
                _keys[slot] = (folder, locator);
                _slotOf[(folder, locator)] = slot;
                LinkAtHead(slot);
            }
        }

        return embedding;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var handle in _files.Values)
            {
                handle.Dispose();
            }

            _files.Clear();
            _slotOf.Clear();
            NativeMemory.Free(_slab);
            _slab = null;
        }
    }

    private void ReadFromSegment(string folder, long locator, float[] embedding)
    {
        var path = TokenSegmentWriter.SegmentPath(folder, locator >> TokenSegmentWriter.SegmentShift);
        var record = locator & ((1L << TokenSegmentWriter.SegmentShift) - 1);
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
    }

    /// <summary>Empties the cache and sizes its slab for embeddings of <paramref name="embeddingLength"/> floats.</summary>
    private void Reset(int embeddingLength)
    {
        NativeMemory.Free(_slab);
        _slotOf.Clear();
        _slotLength = embeddingLength;
        _slots = (int)Math.Min(int.MaxValue, capacityBytes / ((long)embeddingLength * sizeof(float)));
        _slab = (float*)NativeMemory.Alloc((nuint)_slots, (nuint)embeddingLength * sizeof(float));
        _keys = new (string, long)[_slots];
        _newer = new int[_slots];
        _older = new int[_slots];
        _used = 0;
        _head = _tail = None;
    }

    /// <summary>A free slot while the slab has one, else the least recently used, evicted.</summary>
    private int TakeSlot()
    {
        if (_used < _slots)
        {
            return _used++;
        }

        var oldest = _tail;
        Unlink(oldest);
        _slotOf.Remove(_keys[oldest]);
        return oldest;
    }

    private float* Slot(int slot) => _slab + ((long)slot * _slotLength);

    private void MoveToHead(int slot)
    {
        if (slot != _head)
        {
            Unlink(slot);
            LinkAtHead(slot);
        }
    }

    private void LinkAtHead(int slot)
    {
        _newer[slot] = None;
        _older[slot] = _head;
        if (_head != None)
        {
            _newer[_head] = slot;
        }

        _head = slot;
        if (_tail == None)
        {
            _tail = slot;
        }
    }

    private void Unlink(int slot)
    {
        var newer = _newer[slot];
        var older = _older[slot];
        if (newer != None)
        {
            _older[newer] = older;
        }
        else
        {
            _head = older;
        }

        if (older != None)
        {
            _newer[older] = newer;
        }
        else
        {
            _tail = newer;
        }
    }

    private SafeFileHandle Handle(string path)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_files.TryGetValue(path, out var handle))
            {
                handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                _files[path] = handle;
            }

            return handle;
        }
    }
}
