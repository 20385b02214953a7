using Icdiff.Core;

namespace Icdiff.Index.Embedded;

/// <summary>
/// A fixed-size min-heap keeping the k best candidates seen, in <see cref="GalleryRanking"/>'s order: equal scores
/// are ranked by gallery key, so which of several equal-scoring entries survives the cut at k never depends on the
/// order they were added in (ordinals follow the order gallery batches finished). The keys are read only on an
/// exact tie; the common case, a score below the current k-th, costs one comparison as before.
/// </summary>
internal struct TopK(int capacity, List<string> keys)
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
        else if (score >= _heap[0].ProxyScore && (score > _heap[0].ProxyScore || Worse(_heap[0], new IndexCandidate(ordinal, score))))
        {
            _heap[0] = new IndexCandidate(ordinal, score);
            SiftDown(0);
        }
    }

    /// <summary>The k-th best score kept so far, or negative infinity while fewer than k are kept.</summary>
    public readonly float Floor => _count < _heap.Length ? float.NegativeInfinity : _heap[0].ProxyScore;

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

    /// <summary>Whether <paramref name="a"/> ranks after <paramref name="b"/>: a lower score, or an equal score under a larger key.</summary>
    private readonly bool Worse(IndexCandidate a, IndexCandidate b)
    {
        if (a.ProxyScore != b.ProxyScore)
        {
            return a.ProxyScore < b.ProxyScore;
        }

        var byKey = GalleryRanking.Compare(a.ProxyScore, keys[a.Ordinal], b.ProxyScore, keys[b.Ordinal]);
        // Equal keys are one image added twice (changed, appended, its older entry not yet dropped by the seal): the
        // earlier entry ranks first, which is all that insertion order still decides.
        return byKey != 0 ? byKey > 0 : a.Ordinal > b.Ordinal;
    }

    private readonly void SiftUp(int i)
    {
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (!Worse(_heap[i], _heap[parent]))
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
            if (left < _count && Worse(_heap[left], _heap[smallest]))
            {
                smallest = left;
            }

            if (left + 1 < _count && Worse(_heap[left + 1], _heap[smallest]))
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

/// <summary>
/// The k-th best score seen so far, without the entries it belongs to: all a float16 partition scan needs to tell which
/// scores can still matter. A min-heap of plain floats, with no key comparisons: whichever of several equal scores is
/// kept, the k-th best value is the same (<see cref="TopK"/> ranks ties by key because it keeps entries).
/// </summary>
internal struct KthBestScore(int k)
{
    private readonly float[] _heap = new float[k];
    private int _count;

    /// <summary>The k-th best score offered, or negative infinity while fewer than k were.</summary>
    public readonly float Value => _count < _heap.Length ? float.NegativeInfinity : _heap[0];

    public void Offer(float score)
    {
        var heap = _heap;
        if (_count < heap.Length)
        {
            // Sift up.
            var i = _count++;
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (heap[parent] <= score)
                {
                    break;
                }

                heap[i] = heap[parent];
                i = parent;
            }

            heap[i] = score;
            return;
        }

        if (score <= heap[0])
        {
            return;
        }

        // Replace the smallest and sift down.
        var at = 0;
        var count = _count;
        while (true)
        {
            var child = (2 * at) + 1;
            if (child >= count)
            {
                break;
            }

            if (child + 1 < count && heap[child + 1] < heap[child])
            {
                child++;
            }

            if (heap[child] >= score)
            {
                break;
            }

            heap[at] = heap[child];
            at = child;
        }

        heap[at] = score;
    }
}
