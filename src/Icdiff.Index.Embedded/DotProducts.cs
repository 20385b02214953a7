using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Icdiff.Index.Embedded;

/// <summary>Dot products of one gallery vector with four queries in a single pass over the gallery vector.</summary>
internal static class DotProducts
{
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
}
