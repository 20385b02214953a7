using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using Icdiff.Core;
using Icdiff.Tabular;

namespace Icdiff.Evaluation;

/// <summary>
/// Reads labelled pairs from CSV (header row: name, level, generated, real), JSON Lines (objects with those
/// fields) or Parquet, chosen by extension, as a stream. Parquet is read one row group at a time, in either layout:
/// path columns (<c>name</c>, <c>level</c>, <c>generated</c>, <c>real</c>) or the published D-Rep layout
/// (<c>Name</c>, <c>Level</c> int64, and image structs <c>generated_images</c> / <c>real_images</c> as Hugging Face
/// <c>datasets</c> writes an Image feature: <c>bytes</c> binary, <c>path</c> string, either may be null), whose
/// encoded images travel with the pair. Column names match case-insensitively. Image paths are resolved against
/// the pairs file's folder. Every malformed row is an error naming the file and line or row: a silently dropped
/// label would bias the figures.
/// </summary>
public static class PairsReader
{
    /// <summary>Rows of one Parquet row group held in memory at once; a larger (or corrupt) count is refused.</summary>
    private const long MaxRowsPerGroup = 1_000_000;

    private static readonly string[] Columns = ["name", "level", "generated", "real"];
    private static readonly string[] GeneratedColumns = ["generated", "generated_images", "generated_image"];
    private static readonly string[] RealColumns = ["real", "real_images", "real_image"];

    /// <summary>Reads the whole file; fine for path layouts, but a file holding images should be streamed with <see cref="StreamAsync"/>.</summary>
    public static async Task<IReadOnlyList<LabelledPair>> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var rows = new List<LabelledPair>();
        await foreach (var row in StreamAsync(path, cancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Streams the pairs in file order; a Parquet file is held in memory one row group at a time.</summary>
    public static IAsyncEnumerable<LabelledPair> StreamAsync(string path, CancellationToken cancellationToken)
    {
        var source = TabularSource.For(path, "pairs file", (message, inner) => inner is null ? new PairsFormatException(message) : new PairsFormatException(message, inner), MaxRowsPerGroup, maxJsonDepth: 8);
        var format = source.Open();
        var root = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return format switch
        {
            TabularFormat.Csv => ReadCsvAsync(source, root, cancellationToken),
            TabularFormat.JsonLines => ReadJsonLinesAsync(source, root, cancellationToken),
            _ => ReadParquetAsync(source, root, cancellationToken),
        };
    }

    private static string Resolve(string root, string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(root, path));

    private static LabelledPair Row(TabularSource source, string where, string? name, string? level, string? generated, string? real)
    {
        if (string.IsNullOrWhiteSpace(generated) || string.IsNullOrWhiteSpace(real))
        {
            throw source.FailAt(where, "generated and real image paths are required.");
        }

        if (!int.TryParse(level, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) || !ReplicationLevels.IsValid(parsed))
        {
            throw source.FailAt(where, $"level '{level}' is not an integer 0..5.");
        }

        return new LabelledPair(string.IsNullOrWhiteSpace(name) ? generated : name, parsed, generated, real);
    }

    private static LabelledPair Resolved(LabelledPair pair, string root) => pair with { Generated = Resolve(root, pair.Generated), Real = Resolve(root, pair.Real) };

    private static async IAsyncEnumerable<LabelledPair> ReadCsvAsync(TabularSource source, string root, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int[]? index = null;
        await foreach (var record in CsvRecords.ReadAsync(source, cancellationToken))
        {
            if (index is null)
            {
                var names = record.Fields.Select(h => h.Trim().ToLowerInvariant()).ToList();
                index = [.. Columns.Select(c => names.IndexOf(c))];
                if (index[1] < 0 || index[2] < 0 || index[3] < 0)
                {
                    throw source.Fail($": the header must name the columns level, generated and real (and optionally name); it has: {string.Join(',', record.Fields)}");
                }

                continue;
            }

            var fields = record.Fields;
            string? Field(int i) => i >= 0 && i < fields.Length ? fields[i] : null;
            yield return Resolved(Row(source, $"line {record.Line}", Field(index[0]), Field(index[1]), Field(index[2]), Field(index[3])), root);
        }

        if (index is null)
        {
            throw source.Fail(" is empty.");
        }
    }

    private static async IAsyncEnumerable<LabelledPair> ReadJsonLinesAsync(TabularSource source, string root, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var record in JsonLineRecords.ReadAsync(source, cancellationToken))
        {
            string? Get(string name) => record.Values.TryGetValue(name, out var value) ? value : null;
            yield return Resolved(Row(source, $"line {record.Line}", Get("name"), Get("level"), Get("generated"), Get("real")), root);
        }
    }

    private static async IAsyncEnumerable<LabelledPair> ReadParquetAsync(TabularSource source, string root, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var label = Path.GetFileName(source.Path);
        var groups = ParquetRowGroups.ReadAsync(
            source,
            schema => ParquetPairsLayout.From(schema, source.Path),
            async (layout, rowGroup, rows, ct) => (Layout: layout, Columns: await layout.ReadAsync(rowGroup, rows, ct)),
            cancellationToken);
        await foreach (var group in groups)
        {
            var (layout, columns) = group.Columns;
            for (var r = 0; r < columns.Rows; r++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var where = string.Create(CultureInfo.InvariantCulture, $"row {group.FirstRow + r}");
                var generated = Image(source, columns.Generated, r, root, where, layout.GeneratedName, label);
                var real = Image(source, columns.Real, r, root, where, layout.RealName, label);
                var level = columns.Levels[r]?.ToString(CultureInfo.InvariantCulture) ?? columns.LevelTexts?[r];
                yield return Row(source, where, columns.Names?[r], level, generated.Reference, real.Reference) with
                {
                    GeneratedBytes = generated.Bytes,
                    RealBytes = real.Bytes,
                };
            }
        }
    }

    /// <summary>One image cell: its bytes where the file holds them (then the reference only labels it), else a path.</summary>
    private static (string Reference, byte[]? Bytes) Image(TabularSource source, ParquetPairsLayout.ImageColumn column, int row, string root, string where, string columnName, string label)
    {
        if (column.Bytes?[row] is { } bytes)
        {
            var stored = column.Paths?[row];
            var reference = string.Create(CultureInfo.InvariantCulture, $"{label} {where} {columnName}");
            return (string.IsNullOrWhiteSpace(stored) ? reference : $"{reference} ({stored})", bytes);
        }

        if (column.Paths?[row] is { } stored2 && !string.IsNullOrWhiteSpace(stored2))
        {
            return (Resolve(root, stored2), null);
        }

        throw source.FailAt(where, $"{columnName} has neither image bytes nor a path.");
    }

    /// <summary>The row shape of the path layout, for writing pairs files with Parquet.Net's serializer.</summary>
    public sealed class ParquetPairRow
    {
        [JsonPropertyName("name")]
        public string? Name { get; set; }

        [JsonPropertyName("level")]
        public int? Level { get; set; }

        [JsonPropertyName("generated")]
        public string? Generated { get; set; }

        [JsonPropertyName("real")]
        public string? Real { get; set; }
    }

    internal static string[] GeneratedColumnNames => GeneratedColumns;

    internal static string[] RealColumnNames => RealColumns;
}
