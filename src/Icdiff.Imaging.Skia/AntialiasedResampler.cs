using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Icdiff.Core;

namespace Icdiff.Imaging.Skia;

/// <summary>
/// Separable bicubic resampling (a = -0.5) whose kernel widens with the reduction factor, as PIL's
/// <c>Image.resize(..., BICUBIC)</c> does: every source pixel under the footprint contributes, so fine textures
/// average out instead of aliasing. That keeps embeddings of the same picture stable across encodings and sizes,
/// and it is the pre-processing the reference models were trained with. Writes the normalised CHW tensor directly.
/// </summary>
internal static class AntialiasedResampler
{
    private const float CubicA = -0.5f;
    private const float CubicSupport = 2f;

    /// <summary>
    /// Resamples the window <paramref name="window"/> (source pixels, fractional allowed) of an RGBA8888 image to
    /// the spec's size and writes (v / 255 - mean) / std per channel, channel-major.
    /// </summary>
    public static void ResizeToTensor(ReadOnlySpan<byte> rgba, int width, int height, int rowBytes, (float Left, float Top, float Width, float Height) window, PreprocessSpec spec, Span<float> destination)
    {
        var outW = spec.Width;
        var outH = spec.Height;
        var horizontal = CachedCoefficients(ref s_horizontal, window.Left, window.Width, width, outW);
        var vertical = CachedCoefficients(ref s_vertical, window.Top, window.Height, height, outH);

        // Horizontal pass over the rows the vertical pass will read: firstRow..lastRow, three float planes.
        var firstRow = vertical.Start[0];
        var lastRow = vertical.Start[outH - 1] + vertical.Count[outH - 1];
        var rows = lastRow - firstRow;
        var temp = ArrayPool<float>.Shared.Rent(3 * rows * outW);
        try
        {
            Resample(rgba, width, rowBytes, spec, horizontal, vertical, firstRow, rows, temp, destination);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(temp);
        }
    }

    private static void Resample(ReadOnlySpan<byte> rgba, int width, int rowBytes, PreprocessSpec spec, Taps horizontal, Taps vertical, int firstRow, int rows, float[] temp, Span<float> destination)
    {
        var outW = spec.Width;
        var outH = spec.Height;
        // Each source row is widened to floats once (RGBA stays interleaved) into a buffer with a zeroed tail, so the
        // horizontal pass can read whole groups of four taps past the row's end (their weights are zero there).
        var rowLength = width * 4;
        var rowFloats = ArrayPool<float>.Shared.Rent(rowLength + (horizontal.PaddedTaps * 4));
        try
        {
            rowFloats.AsSpan(rowLength, horizontal.PaddedTaps * 4).Clear();
            var planeStride = rows * outW;
            for (var y = 0; y < rows; y++)
            {
                var o = y * outW;
                HorizontalRow(rgba.Slice((firstRow + y) * rowBytes, rowLength), rowFloats, horizontal, temp.AsSpan(o, outW), temp.AsSpan(planeStride + o, outW), temp.AsSpan((2 * planeStride) + o, outW));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowFloats);
        }

        var plane = outW * outH;
        for (var c = 0; c < 3; c++)
        {
            VerticalPlane(temp.AsSpan(c * rows * outW, rows * outW), vertical, firstRow, outW, 1f / (255f * spec.Std[c]), spec.Mean[c] / spec.Std[c], destination.Slice(c * plane, plane));
        }
    }

    /// <summary>
    /// One channel's vertical pass, one pass per output row: the weighted sum of the source rows, clamped to the
    /// 8-bit range as an 8-bit resize would, then normalised ((v * scale) - offset), without writing the row back
    /// between taps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerticalPlane(ReadOnlySpan<float> source, Taps vertical, int firstRow, int outW, float scale, float offset, Span<float> target)
    {
        var lanes = Vector256<float>.Count;
        var scaleV = Vector256.Create(scale);
        var offsetV = Vector256.Create(offset);
        var max = Vector256.Create(255f);
        ref var sourceBase = ref MemoryMarshal.GetReference(source);
        ref var targetBase = ref MemoryMarshal.GetReference(target);
        var outH = target.Length / outW;
        for (var y = 0; y < outH; y++)
        {
            var weights = vertical.Weights.AsSpan(y * vertical.MaxTaps, vertical.Count[y]);
            ref var line = ref Unsafe.Add(ref targetBase, y * outW);
            ref var top = ref Unsafe.Add(ref sourceBase, (vertical.Start[y] - firstRow) * outW);
            var x = 0;
            for (; x + lanes <= outW; x += lanes)
            {
                var acc = Vector256<float>.Zero;
                for (var t = 0; t < weights.Length; t++)
                {
                    acc = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref top, (nuint)((t * outW) + x)), Vector256.Create(weights[t]), acc);
                }

                acc = Vector256.Min(Vector256.Max(acc, Vector256<float>.Zero), max);
                ((acc * scaleV) - offsetV).StoreUnsafe(ref line, (nuint)x);
            }

            for (; x < outW; x++)
            {
                var sum = 0f;
                for (var t = 0; t < weights.Length; t++)
                {
                    sum += Unsafe.Add(ref top, (t * outW) + x) * weights[t];
                }

                Unsafe.Add(ref line, x) = (Math.Clamp(sum, 0f, 255f) * scale) - offset;
            }
        }
    }

    /// <summary>
    /// One source row (RGBA bytes, widened into <paramref name="row"/>, zero-padded past its end) to the three channel
    /// rows of the horizontal pass. Four taps per step in two independent accumulators (two RGBA pixels each): the
    /// dependency chain is a quarter of one multiply-add per tap, which is what bounded this loop. Compiled optimised at once (it runs for every
    /// row of every image; the tiers before it are many times slower).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalRow(ReadOnlySpan<byte> source, float[] row, Taps taps, Span<float> red, Span<float> green, Span<float> blue)
    {
        ref var rowBase = ref MemoryMarshal.GetArrayDataReference(row);
        TensorPrimitives.ConvertTruncating<byte, float>(source, row.AsSpan(0, source.Length));
        ref var spread = ref MemoryMarshal.GetArrayDataReference(taps.Spread);
        ref var start = ref MemoryMarshal.GetArrayDataReference(taps.Start);
        ref var steps = ref MemoryMarshal.GetArrayDataReference(taps.Steps);
        ref var r = ref MemoryMarshal.GetReference(red);
        ref var g = ref MemoryMarshal.GetReference(green);
        ref var b = ref MemoryMarshal.GetReference(blue);
        var stride = (nuint)(taps.PaddedTaps * 4);
        var count = red.Length;
        ref var weight = ref spread;
        for (var x = 0; x < count; x++)
        {
            ref var pixel = ref Unsafe.Add(ref rowBase, Unsafe.Add(ref start, x) * 4);
            var even = Vector256<float>.Zero;
            var odd = Vector256<float>.Zero;
            var at = (nuint)0;
            for (var s = Unsafe.Add(ref steps, x); s > 0; s--, at += 16)
            {
                even = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref pixel, at), Vector256.LoadUnsafe(ref weight, at), even);
                odd = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref pixel, at + 8), Vector256.LoadUnsafe(ref weight, at + 8), odd);
            }

            var both = even + odd;
            var sum = both.GetLower() + both.GetUpper();
            Unsafe.Add(ref r, x) = sum.GetElement(0);
            Unsafe.Add(ref g, x) = sum.GetElement(1);
            Unsafe.Add(ref b, x) = sum.GetElement(2);
            weight = ref Unsafe.Add(ref weight, stride);
        }
    }

    /// <summary>
    /// The coefficients of the last resize this thread made along one axis: a corpus's images mostly share their
    /// sizes, and the coefficients (tens of kilobytes with the spread weights) would otherwise be rebuilt and
    /// collected for every image.
    /// </summary>
    [ThreadStatic]
    private static (float Start, float Size, int Length, int Out, Taps Taps)? s_horizontal;

    [ThreadStatic]
    private static (float Start, float Size, int Length, int Out, Taps Taps)? s_vertical;

    private static Taps CachedCoefficients(ref (float Start, float Size, int Length, int Out, Taps Taps)? cache, float inStart, float inSize, int inLength, int outSize)
    {
        if (cache is { } hit && hit.Start == inStart && hit.Size == inSize && hit.Length == inLength && hit.Out == outSize)
        {
            return hit.Taps;
        }

        var taps = Coefficients(inStart, inSize, inLength, outSize);
        cache = (inStart, inSize, inLength, outSize, taps);
        return taps;
    }

    private static Taps Coefficients(float inStart, float inSize, int inLength, int outSize)
    {
        var scale = inSize / outSize;
        var filterScale = Math.Max(scale, 1f);
        var support = CubicSupport * filterScale;
        var maxTaps = (int)Math.Ceiling(support * 2) + 2;
        var start = new int[outSize];
        var count = new int[outSize];
        var weights = new float[outSize * maxTaps];
        for (var i = 0; i < outSize; i++)
        {
            var center = inStart + ((i + 0.5f) * scale);
            var min = Math.Max(0, (int)MathF.Floor(center - support + 0.5f));
            var max = Math.Min(inLength, (int)MathF.Floor(center + support + 0.5f));
            if (max <= min)
            {
                // Window entirely outside the image (cannot happen for valid crops): take the nearest pixel.
                min = Math.Clamp((int)center, 0, inLength - 1);
                max = min + 1;
            }

            max = Math.Min(max, min + maxTaps);
            var total = 0f;
            for (var x = min; x < max; x++)
            {
                var w = Cubic((x + 0.5f - center) / filterScale);
                weights[(i * maxTaps) + (x - min)] = w;
                total += w;
            }

            if (total != 0)
            {
                for (var t = 0; t < max - min; t++)
                {
                    weights[(i * maxTaps) + t] /= total;
                }
            }

            start[i] = min;
            count[i] = max - min;
        }

        // The weights again, each repeated for the four channels of a pixel and padded with zeros to a multiple of
        // four taps, for the horizontal pass (which reads four RGBA pixels per step).
        var paddedTaps = (maxTaps + 3) / 4 * 4;
        var spread = new float[outSize * paddedTaps * 4];
        var steps = new int[outSize];
        for (var i = 0; i < outSize; i++)
        {
            steps[i] = (count[i] + 3) / 4;
            for (var t = 0; t < count[i]; t++)
            {
                spread.AsSpan(((i * paddedTaps) + t) * 4, 4).Fill(weights[(i * maxTaps) + t]);
            }
        }

        return new Taps(start, count, weights, maxTaps, spread, steps, paddedTaps);
    }

    private static float Cubic(float x)
    {
        x = Math.Abs(x);
        if (x < 1f)
        {
            return ((((CubicA + 2f) * x) - (CubicA + 3f)) * x * x) + 1f;
        }

        return x < 2f ? ((((x - 5f) * x) + 8f) * x - 4f) * CubicA : 0f;
    }

    private readonly record struct Taps(int[] Start, int[] Count, float[] Weights, int MaxTaps, float[] Spread, int[] Steps, int PaddedTaps);
}
