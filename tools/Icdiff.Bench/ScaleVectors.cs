using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Icdiff.Bench;

/// <summary>
/// The synthetic proxies of <c>bench scale</c>: unit vectors whose components are uniform in [-1, 1) before
/// normalisation (no image decoding), each row a function of (seed, row) alone, so any prefix of the gallery file is
/// the gallery of that size and the file can be generated in parallel and reused between runs. Files are raw
/// little-endian float32 rows, which the FAISS baseline memory-maps as they are.
/// </summary>
internal static class ScaleVectors
{
    public const int Dim = 768;

    private const ulong GallerySeed = 0x1CD1FF_0001;
    private const ulong QuerySeed = 0x1CD1FF_0002;
    private const ulong NoiseSeed = 0x1CD1FF_0003;
    private const ulong TargetSeed = 0x1CD1FF_0004;
    private const int FormatVersion = 1;
    private const int RowsPerWrite = 8_192;

    /// <summary>One query in this many is a planted near-duplicate of a known gallery vector.</summary>
    public const int PlantedEvery = 10;

    /// <summary>
    /// Weight of the random unit vector added to a planted query's target: nearly orthogonal to it in 768 dimensions, so
    /// the planted cosine is about 1/sqrt(1 + 0.5^2) = 0.89, far above the best unrelated cosine (about 0.2 at 1M).
    /// </summary>
    private const float PlantNoise = 0.5f;

    public static string GalleryPath(string folder) => Path.Combine(folder, "gallery-f32.bin");

    public static string QueriesPath(string folder) => Path.Combine(folder, "queries-f32.bin");

    public static string KeyOf(long row) => string.Create(CultureInfo.InvariantCulture, $"g{row:D7}");

    /// <summary>The gallery row a key names (keys are <see cref="KeyOf"/>'s).</summary>
    public static int RowOf(string key) => int.Parse(key.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>Writes the gallery file with at least <paramref name="rows"/> rows unless one from an earlier run has them.</summary>
    public static void EnsureGallery(string folder, int rows)
    {
        var path = GalleryPath(folder);
        var meta = path + ".json";
        var expected = new GalleryMeta(FormatVersion, Dim, GallerySeed, rows);
        if (File.Exists(path) && File.Exists(meta)
            && JsonSerializer.Deserialize<GalleryMeta>(File.ReadAllText(meta)) is { } existing
            && existing with { Rows = rows } == expected && existing.Rows >= rows
            && new FileInfo(path).Length == (long)existing.Rows * Dim * sizeof(float))
        {
            return;
        }

        File.Delete(meta);
        var buffer = new float[RowsPerWrite * Dim];
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            for (var start = 0; start < rows; start += RowsPerWrite)
            {
                var count = Math.Min(RowsPerWrite, rows - start);
                Parallel.For(0, count, i => UnitRow(GallerySeed, start + i, buffer.AsSpan(i * Dim, Dim)));
                stream.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, count * Dim)));
            }
        }

        File.WriteAllText(meta, JsonSerializer.Serialize(expected));
    }

    /// <summary>
    /// Writes <paramref name="count"/> queries; every <see cref="PlantedEvery"/>-th is its target gallery row plus
    /// noise, the target drawn among the first <paramref name="targetRows"/> rows so every gallery size holds it.
    /// Returns the planted target per query (-1 where none).
    /// </summary>
    public static int[] WriteQueries(string folder, int count, int targetRows)
    {
        var targets = new int[count];
        var queries = new float[(long)count * Dim];
        using var gallery = File.OpenHandle(GalleryPath(folder));
        Parallel.For(0, count, q =>
        {
            var row = queries.AsSpan(q * Dim, Dim);
            if (q % PlantedEvery != 0)
            {
                targets[q] = -1;
                UnitRow(QuerySeed, q, row);
                return;
            }

            var target = (int)(SplitMix(TargetSeed ^ ((ulong)q * 0x9E3779B97F4A7C15UL)) % (ulong)targetRows);
            targets[q] = target;
            RandomAccess.Read(gallery, MemoryMarshal.AsBytes(row), (long)target * Dim * sizeof(float));
            Span<float> noise = stackalloc float[Dim];
            UnitRow(NoiseSeed, q, noise);
            TensorPrimitives.MultiplyAdd(noise, PlantNoise, row, row);
            Normalise(row);
        });
        File.WriteAllBytes(QueriesPath(folder), MemoryMarshal.AsBytes(queries.AsSpan()).ToArray());
        return targets;
    }

    /// <summary>Reads rows [first, first + count) of a vector file.</summary>
    public static float[] ReadRows(string path, long first, int count)
    {
        var rows = new float[(long)count * Dim];
        ReadRows(path, first, count, rows);
        return rows;
    }

    /// <summary>Rows <paramref name="first"/> .. + <paramref name="count"/> of a vector file into <paramref name="destination"/>.</summary>
    public static void ReadRows(string path, long first, int count, Span<float> destination)
    {
        using var handle = File.OpenHandle(path);
        var bytes = MemoryMarshal.AsBytes(destination[..(count * Dim)]);
        var offset = first * Dim * sizeof(float);
        for (var read = 0; read < bytes.Length;)
        {
            var n = RandomAccess.Read(handle, bytes[read..], offset + read);
            read += n > 0 ? n : throw new InvalidDataException($"'{path}' ends before row {first + count}.");
        }
    }

    private static void UnitRow(ulong seed, long row, Span<float> destination)
    {
        var state = SplitMix(seed ^ ((ulong)row * 0xD1B54A32D192ED03UL));
        for (var i = 0; i < destination.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            // The top 24 bits as a float in [-1, 1): exact in float32.
            destination[i] = ((int)(SplitMix(state) >> 40) - (1 << 23)) / (float)(1 << 23);
        }

        Normalise(destination);
    }

    private static void Normalise(Span<float> vector) => TensorPrimitives.Divide(vector, TensorPrimitives.Norm(vector), vector);

    private static ulong SplitMix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private sealed record GalleryMeta(int Version, int Dim, ulong Seed, int Rows);
}
