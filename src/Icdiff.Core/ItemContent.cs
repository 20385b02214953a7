using System.Buffers;

namespace Icdiff.Core;

/// <summary>
/// The bytes of one item, possibly in a buffer rented from <see cref="ArrayPool{T}.Shared"/>: dispose it once the
/// bytes are decoded. Pooled reads keep the hot path free of large-object-heap allocations (most images are over
/// 85 KB), whose churn otherwise forces full garbage collections over the whole heap.
/// </summary>
public readonly struct ItemContent : IDisposable
{
    private readonly byte[] _buffer;
    private readonly bool _pooled;

    public ItemContent(byte[] buffer, int length, bool pooled)
    {
        _buffer = buffer;
        Length = length;
        _pooled = pooled;
    }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public static ItemContent Owned(byte[] bytes) => new(bytes, bytes.Length, false);

    public void Dispose()
    {
        if (_pooled)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
