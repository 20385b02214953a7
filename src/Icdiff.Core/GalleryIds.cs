using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Icdiff.Core;

/// <summary>
/// Gallery ids from image content: the first 53 bits of the SHA-256 of the bytes. The same image under two names is
/// one entry, a re-indexed gallery yields the same ids, and every id survives JSON clients that parse numbers as
/// doubles (2^53 is the largest exactly representable integer). Collisions need about 9.5e7 images for a
/// 50% chance in the whole gallery (birthday bound), far beyond the 1e-9 per-pair rate that matters for matching.
/// </summary>
public static class GalleryIds
{
    public const long Limit = 1L << 53;

    public static long FromContent(ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(content, hash);
        return (long)(BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11);
    }
}
