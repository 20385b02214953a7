using Parquet.Serialization;

namespace Icdiff.Evaluation.Tests;

/// <summary>
/// Writes pairs in the published D-Rep parquet layout: <c>Name</c> (string), <c>Level</c> (int64) and two structs
/// <c>generated_images</c> / <c>real_images</c> with the fields Hugging Face <c>datasets</c> gives an Image feature
/// (<c>bytes</c> binary, <c>path</c> string or null), one row group per call of <paramref name="rowGroups"/>.
/// </summary>
public static class DrepParquet
{
    public static async Task WriteAsync(string path, IEnumerable<IReadOnlyList<Row>> rowGroups, CancellationToken cancellationToken)
    {
        var append = false;
        foreach (var group in rowGroups)
        {
            await ParquetSerializer.SerializeAsync(group, path, new Parquet.ParquetOptions { Append = append }, cancellationToken: cancellationToken);
            append = true;
        }
    }

    public static Row Of(string name, long level, byte[]? generated, byte[]? real, string? generatedPath = null, string? realPath = null) => new()
    {
        Name = name,
        Level = level,
        generated_images = new Image { bytes = generated, path = generatedPath },
        real_images = new Image { bytes = real, path = realPath },
    };

#pragma warning disable CA1707, IDE1006, SA1300 // the published column names, as they are
    public sealed class Row
    {
        public string? Name { get; set; }

        public long Level { get; set; }

        public Image? generated_images { get; set; }

        public Image? real_images { get; set; }
    }

    public sealed class Image
    {
        public byte[]? bytes { get; set; }

        public string? path { get; set; }
    }
#pragma warning restore CA1707, IDE1006, SA1300
}
