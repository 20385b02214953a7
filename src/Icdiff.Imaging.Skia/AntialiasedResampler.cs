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
        var horizontal = Coefficients(window.Left, window.Width, width, outW);
        var vertical = Coefficients(window.Top, window.Height, height, outH);

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
        // Each source row is widened to floats once (RGBA stays interleaved), so one 4-lane multiply-add per tap
        // handles all channels of a pixel.
        var rowFloats = ArrayPool<float>.Shared.Rent(width * 4);
        try
        {
            ref var weightsBase = ref MemoryMarshal.GetArrayDataReference(horizontal.Weights);
            ref var rowBase = ref MemoryMarshal.GetArrayDataReference(rowFloats);
            for (var y = 0; y < rows; y++)
            {
                TensorPrimitives.ConvertTruncating<byte, float>(rgba.Slice((firstRow + y) * rowBytes, width * 4), rowFloats.AsSpan(0, width * 4));
                for (var x = 0; x < outW; x++)
                {
                    var acc = Vector128<float>.Zero;
                    ref var pixel = ref Unsafe.Add(ref rowBase, horizontal.Start[x] * 4);
                    ref var weight = ref Unsafe.Add(ref weightsBase, x * horizontal.MaxTaps);
                    var taps = horizontal.Count[x];
                    for (var t = 0; t < taps; t++)
                    {
                        acc = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref pixel, (nuint)(t * 4)), Vector128.Create(Unsafe.Add(ref weight, t)), acc);
                    }

                    var o = (y * outW) + x;
                    temp[o] = acc.GetElement(0);
                    temp[(rows * outW) + o] = acc.GetElement(1);
                    temp[(2 * rows * outW) + o] = acc.GetElement(2);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowFloats);
        }

        var plane = outW * outH;
        for (var c = 0; c < 3; c++)
        {
            var source = temp.AsSpan(c * rows * outW, rows * outW);
            var scale = 1f / (255f * spec.Std[c]);
            var offset = spec.Mean[c] / spec.Std[c];
            var target = destination.Slice(c * plane, plane);
            for (var y = 0; y < outH; y++)
            {
                var start = vertical.Start[y] - firstRow;
                var weights = vertical.Weights.AsSpan(y * vertical.MaxTaps, vertical.Count[y]);
                var line = target.Slice(y * outW, outW);
                line.Clear();
                for (var t = 0; t < weights.Length; t++)
                {
                    TensorPrimitives.MultiplyAdd(source.Slice((start + t) * outW, outW), weights[t], line, line);
                }

                // Clamp to the 8-bit range as an 8-bit resize would, then normalise.
                TensorPrimitives.Max(line, 0f, line);
                TensorPrimitives.Min(line, 255f, line);
                TensorPrimitives.Multiply(line, scale, line);
                TensorPrimitives.Subtract(line, offset, line);
            }
        }
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

        return new Taps(start, count, weights, maxTaps);
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

    private readonly record struct Taps(int[] Start, int[] Count, float[] Weights, int MaxTaps);
}
