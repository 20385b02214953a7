using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Icdiff.Index.Embedded;

/// <summary>Dot products of gallery vectors with four queries, sharing every load between several multiply-adds.</summary>
internal static class DotProducts
{
    /// <summary>Two gallery vectors against four queries: 6 loads feed 8 multiply-adds per step.</summary>
    public static (Vector4 First, Vector4 Second) FourByTwo(ReadOnlySpan<float> g0, ReadOnlySpan<float> g1, ReadOnlySpan<float> q0, ReadOnlySpan<float> q1, ReadOnlySpan<float> q2, ReadOnlySpan<float> q3)
    {
        var n = g0.Length;
        if (!Vector256.IsHardwareAccelerated || n % Vector256<float>.Count != 0)
        {
            return (Four(g0, q0, q1, q2, q3), Four(g1, q0, q1, q2, q3));
        }

        ref var a = ref MemoryMarshal.GetReference(g0);
        ref var b = ref MemoryMarshal.GetReference(g1);
        ref var r0 = ref MemoryMarshal.GetReference(q0);
        ref var r1 = ref MemoryMarshal.GetReference(q1);
        ref var r2 = ref MemoryMarshal.GetReference(q2);
        ref var r3 = ref MemoryMarshal.GetReference(q3);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (var i = 0; i < n; i += Vector256<float>.Count)
        {
            var ga = Vector256.LoadUnsafe(ref a, (nuint)i);
            var gb = Vector256.LoadUnsafe(ref b, (nuint)i);
            var v0 = Vector256.LoadUnsafe(ref r0, (nuint)i);
            var v1 = Vector256.LoadUnsafe(ref r1, (nuint)i);
            var v2 = Vector256.LoadUnsafe(ref r2, (nuint)i);
            var v3 = Vector256.LoadUnsafe(ref r3, (nuint)i);
            a0 = Vector256.MultiplyAddEstimate(ga, v0, a0);
            a1 = Vector256.MultiplyAddEstimate(ga, v1, a1);
            a2 = Vector256.MultiplyAddEstimate(ga, v2, a2);
            a3 = Vector256.MultiplyAddEstimate(ga, v3, a3);
            b0 = Vector256.MultiplyAddEstimate(gb, v0, b0);
            b1 = Vector256.MultiplyAddEstimate(gb, v1, b1);
            b2 = Vector256.MultiplyAddEstimate(gb, v2, b2);
            b3 = Vector256.MultiplyAddEstimate(gb, v3, b3);
        }

        return (new Vector4(Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3)),
                new Vector4(Vector256.Sum(b0), Vector256.Sum(b1), Vector256.Sum(b2), Vector256.Sum(b3)));
    }

    public static Vector4 Four(ReadOnlySpan<float> gallery, ReadOnlySpan<float> q0, ReadOnlySpan<float> q1, ReadOnlySpan<float> q2, ReadOnlySpan<float> q3)
    {
        var n = gallery.Length;
        ref var g = ref MemoryMarshal.GetReference(gallery);
        ref var r0 = ref MemoryMarshal.GetReference(q0);
        ref var r1 = ref MemoryMarshal.GetReference(q1);
        ref var r2 = ref MemoryMarshal.GetReference(q2);
        ref var r3 = ref MemoryMarshal.GetReference(q3);
        var i = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var gv = Vector256.LoadUnsafe(ref g, (nuint)i);
                a0 = Vector256.MultiplyAddEstimate(gv, Vector256.LoadUnsafe(ref r0, (nuint)i), a0);
                a1 = Vector256.MultiplyAddEstimate(gv, Vector256.LoadUnsafe(ref r1, (nuint)i), a1);
                a2 = Vector256.MultiplyAddEstimate(gv, Vector256.LoadUnsafe(ref r2, (nuint)i), a2);
                a3 = Vector256.MultiplyAddEstimate(gv, Vector256.LoadUnsafe(ref r3, (nuint)i), a3);
            }

            s0 = Vector256.Sum(a0);
            s1 = Vector256.Sum(a1);
            s2 = Vector256.Sum(a2);
            s3 = Vector256.Sum(a3);
        }

        for (; i < n; i++)
        {
            var gi = Unsafe.Add(ref g, i);
            s0 += gi * Unsafe.Add(ref r0, i);
            s1 += gi * Unsafe.Add(ref r1, i);
            s2 += gi * Unsafe.Add(ref r2, i);
            s3 += gi * Unsafe.Add(ref r3, i);
        }

        return new Vector4(s0, s1, s2, s3);
    }

    /// <summary>
    /// One gallery vector against one query with exactly the arithmetic <see cref="Four"/> and <see cref="FourByTwo"/>
    /// give each of their pairs (same lanes, same order, same horizontal sum), so a score computed alone equals the
    /// score a batched search reported, to the bit: exact re-ranking of candidates from another index relies on it.
    /// </summary>
    public static float One(ReadOnlySpan<float> gallery, ReadOnlySpan<float> query)
    {
        var n = gallery.Length;
        ref var g = ref MemoryMarshal.GetReference(gallery);
        ref var r = ref MemoryMarshal.GetReference(query);
        var i = 0;
        float s = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var a = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                a = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref g, (nuint)i), Vector256.LoadUnsafe(ref r, (nuint)i), a);
            }

            s = Vector256.Sum(a);
        }

        for (; i < n; i++)
        {
            s += Unsafe.Add(ref g, i) * Unsafe.Add(ref r, i);
        }

        return s;
    }
}
