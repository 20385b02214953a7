using Icdiff.Core;

namespace Icdiff.Index.Embedded;

/// <summary>A fixed-size min-heap keeping the k highest scores seen; ties keep the earlier ordinal.</summary>
internal struct TopK(int capacity)
{
    private readonly IndexCandidate[] _heap = new IndexCandidate[capacity];
    private int _count;

    public void Offer(int ordinal, float score)
    {
        if (_count < _heap.Length)
        {
            _heap[_count] = new IndexCandidate(ordinal, score);
            SiftUp(_count++);
        }
        else if (score > _heap[0].ProxyScore)
        {
            _heap[0] = new IndexCandidate(ordinal, score);
            SiftDown(0);
        }
    }

    /// <summary>Writes the kept candidates best first and returns how many.</summary>
    public int DrainDescending(Span<IndexCandidate> destination)
    {
        var n = _count;
        for (var i = n - 1; i >= 0; i--)
        {
            destination[i] = _heap[0];
            _heap[0] = _heap[--_count];
            SiftDown(0);
        }

        return n;
    }

    private static bool Less(IndexCandidate a, IndexCandidate b) =>
        a.ProxyScore < b.ProxyScore || (a.ProxyScore == b.ProxyScore && a.Ordinal > b.Ordinal);

    private readonly void SiftUp(int i)
    {
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (!Less(_heap[i], _heap[parent]))
            {
                break;
            }

            (_heap[i], _heap[parent]) = (_heap[parent], _heap[i]);
            i = parent;
        }
    }

    private readonly void SiftDown(int i)
    {
        while (true)
        {
            var left = (2 * i) + 1;
            var smallest = i;
            if (left < _count && Less(_heap[left], _heap[smallest]))
            {
                smallest = left;
            }

            if (left + 1 < _count && Less(_heap[left + 1], _heap[smallest]))
            {
                smallest = left + 1;
            }

            if (smallest == i)
            {
                return;
            }

            (_heap[i], _heap[smallest]) = (_heap[smallest], _heap[i]);
            i = smallest;
        }
    }
}
