using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Icdiff.Index.Embedded;

/// <summary>
/// Dot products for the float16 partition scan, where scores only have to stay within
/// <see cref="HalfProxyPartition.ScoreErrorBound"/> of the exact ones (the exact ranking is <see cref="DotProducts"/>'
/// job), so the summation order is free: 512-bit lanes where the machine has them, and a 4 x 4 register tile (four
/// gallery rows against four queries, 8 loads feeding 16 multiply-adds per step) instead of <see cref="DotProducts"/>'
/// 4 x 2, which halves the loads per multiply-add and the loop overhead per pair.
/// </summary>
internal static class WideDotProducts
{
    /// <summary>Whether <see cref="FourByFour"/> runs on this machine for vectors of <paramref name="dim"/> floats.</summary>
    public static bool Supports(int dim) => Vector512.IsHardwareAccelerated && dim % Vector512<float>.Count == 0;

    /// <summary>
    /// Four consecutive gallery rows of <paramref name="dim"/> floats (starting at <paramref name="rows"/>) against four
    /// queries; <paramref name="scores"/>[row * 4 + query] receives each cosine.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FourByFour(ref float rows, int dim, ReadOnlySpan<float> q0, ReadOnlySpan<float> q1, ReadOnlySpan<float> q2, ReadOnlySpan<float> q3, Span<float> scores)
    {
        ref var g0 = ref rows;
        ref var g1 = ref Unsafe.Add(ref rows, dim);
        ref var g2 = ref Unsafe.Add(ref rows, 2 * dim);
        ref var g3 = ref Unsafe.Add(ref rows, 3 * dim);
        ref var r0 = ref MemoryMarshal.GetReference(q0);
        ref var r1 = ref MemoryMarshal.GetReference(q1);
        ref var r2 = ref MemoryMarshal.GetReference(q2);
        ref var r3 = ref MemoryMarshal.GetReference(q3);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default;
        for (nuint i = 0; i < (nuint)dim; i += (nuint)Vector512<float>.Count)
        {
            var v0 = Vector512.LoadUnsafe(ref r0, i);
            var v1 = Vector512.LoadUnsafe(ref r1, i);
            var v2 = Vector512.LoadUnsafe(ref r2, i);
            var v3 = Vector512.LoadUnsafe(ref r3, i);
            var ga = Vector512.LoadUnsafe(ref g0, i);
            a0 = Vector512.FusedMultiplyAdd(ga, v0, a0);
            a1 = Vector512.FusedMultiplyAdd(ga, v1, a1);
            a2 = Vector512.FusedMultiplyAdd(ga, v2, a2);
            a3 = Vector512.FusedMultiplyAdd(ga, v3, a3);
            var gb = Vector512.LoadUnsafe(ref g1, i);
            b0 = Vector512.FusedMultiplyAdd(gb, v0, b0);
            b1 = Vector512.FusedMultiplyAdd(gb, v1, b1);
            b2 = Vector512.FusedMultiplyAdd(gb, v2, b2);
            b3 = Vector512.FusedMultiplyAdd(gb, v3, b3);
            var gc = Vector512.LoadUnsafe(ref g2, i);
            c0 = Vector512.FusedMultiplyAdd(gc, v0, c0);
            c1 = Vector512.FusedMultiplyAdd(gc, v1, c1);
            c2 = Vector512.FusedMultiplyAdd(gc, v2, c2);
            c3 = Vector512.FusedMultiplyAdd(gc, v3, c3);
            var gd = Vector512.LoadUnsafe(ref g3, i);
            d0 = Vector512.FusedMultiplyAdd(gd, v0, d0);
            d1 = Vector512.FusedMultiplyAdd(gd, v1, d1);
            d2 = Vector512.FusedMultiplyAdd(gd, v2, d2);
            d3 = Vector512.FusedMultiplyAdd(gd, v3, d3);
        }

        // Inlined, no call: every SIMD register is the callee's to clobber, so a call here made the JIT spill the
        // accumulators inside the loop (measured: half the speed of the 4 x 2 kernel).
        ArgumentOutOfRangeException.ThrowIfLessThan(scores.Length, 16);
        ref var into = ref MemoryMarshal.GetReference(scores);
        Sums(a0, a1, a2, a3).StoreUnsafe(ref into);
        Sums(b0, b1, b2, b3).StoreUnsafe(ref into, 4);
        Sums(c0, c1, c2, c3).StoreUnsafe(ref into, 8);
        Sums(d0, d1, d2, d3).StoreUnsafe(ref into, 12);
    }

    /// <summary>The four accumulators' horizontal sums: each folded to four lanes, then the four transposed and added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sums(Vector512<float> w, Vector512<float> x, Vector512<float> y, Vector512<float> z)
    {
        var w8 = w.GetLower() + w.GetUpper();
        var x8 = x.GetLower() + x.GetUpper();
        var y8 = y.GetLower() + y.GetUpper();
        var z8 = z.GetLower() + z.GetUpper();
        var w4 = w8.GetLower() + w8.GetUpper();
        var x4 = x8.GetLower() + x8.GetUpper();
        var y4 = y8.GetLower() + y8.GetUpper();
        var z4 = z8.GetLower() + z8.GetUpper();
        if (!Sse.IsSupported)
        {
            return Vector128.Create(Vector128.Sum(w4), Vector128.Sum(x4), Vector128.Sum(y4), Vector128.Sum(z4));
        }

        // [w0 x0 w1 x1] + [w2 x2 w3 x3] and the same for y, z; then the low halves plus the high halves.
        var wx = Sse.UnpackLow(w4, x4) + Sse.UnpackHigh(w4, x4);
        var yz = Sse.UnpackLow(y4, z4) + Sse.UnpackHigh(y4, z4);
        return Sse.MoveLowToHigh(wx, yz) + Sse.MoveHighToLow(yz, wx);
    }
}
