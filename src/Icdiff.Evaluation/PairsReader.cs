using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Icdiff.Core;
using Icdiff.Files;
using Parquet;
using Parquet.Schema;

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
        if (!File.Exists(path))
        {
            throw new PairsFormatException($"pairs file '{path}' does not exist.");
        }

        var root = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".csv" => Resolved(ReadCsv(path), root, cancellationToken),
            ".jsonl" or ".ndjson" => Resolved(ReadJsonLines(path), root, cancellationToken),
            ".parquet" => ReadParquetAsync(path, root, cancellationToken),
            var other => throw new PairsFormatException($"pairs file '{path}': unknown format '{other}'; use .csv, .jsonl or .parquet."),
        };
    }

    private static async IAsyncEnumerable<LabelledPair> Resolved(IEnumerable<LabelledPair> rows, string root, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var r in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return r with { Generated = Resolve(root, r.Generated), Real = Resolve(root, r.Real) };
        }

        await Task.CompletedTask;
    }

    private static string Resolve(string root, string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(root, path));

    private static LabelledPair Row(string path, string where, string? name, string? level, string? generated, string? real)
    {
        if (string.IsNullOrWhiteSpace(generated) || string.IsNullOrWhiteSpace(real))
        {
            throw new PairsFormatException($"pairs file '{path}' {where}: generated and real image paths are required.");
        }

        if (!int.TryParse(level, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) || !ReplicationLevels.IsValid(parsed))
        {
            throw new PairsFormatException($"pairs file '{path}' {where}: level '{level}' is not an integer 0..5.");
        }

        return new LabelledPair(string.IsNullOrWhiteSpace(name) ? generated : name, parsed, generated, real);
    }

    private static IEnumerable<LabelledPair> ReadCsv(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var header = reader.ReadLine() ?? throw new PairsFormatException($"pairs file '{path}' is empty.");
        var names = SplitCsv(header, path, 1).Select(h => h.Trim().ToLowerInvariant()).ToList();
        var index = Columns.Select(c => names.IndexOf(c)).ToArray();
        if (index[1] < 0 || index[2] < 0 || index[3] < 0)
        {
            throw new PairsFormatException($"pairs file '{path}': the header must name the columns level, generated and real (and optionally name); it has: {header}");
        }

        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            // RFC 4180: a quoted field may hold line breaks, so a record may span lines.
            var first = lineNumber;
            var record = line;
            List<string> fields;
            while (!CsvLine.TrySplit(record, out fields))
            {
                var next = reader.ReadLine() ?? throw new PairsFormatException($"pairs file '{path}' line {first}: a quoted field is not closed before the end of the file.");
                lineNumber++;
                record += "\n" + next;
            }

            string? Field(int i) => i >= 0 && i < fields.Count ? fields[i] : null;
            yield return Row(path, $"line {first}", Field(index[0]), Field(index[1]), Field(index[2]), Field(index[3]));
        }
    }

    private static List<string> SplitCsv(string line, string path, int lineNumber) =>
        CsvLine.TrySplit(line, out var fields) ? fields : throw new PairsFormatException($"pairs file '{path}' line {lineNumber}: a quoted field is not closed.");

    private static IEnumerable<LabelledPair> ReadJsonLines(string path)
    {
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            yield return ParseJsonLine(path, line, lineNumber);
        }
    }

    private static LabelledPair ParseJsonLine(string path, string line, int lineNumber)
    {
        try
        {
            using var doc = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new PairsFormatException($"pairs file '{path}' line {lineNumber}: expected a JSON object.");
            }

            string? Get(string name) => doc.RootElement.TryGetProperty(name, out var v)
                ? v.ValueKind switch { JsonValueKind.String => v.GetString(), JsonValueKind.Number => v.GetRawText(), _ => null }
                : null;
            return Row(path, $"line {lineNumber}", Get("name"), Get("level"), Get("generated"), Get("real"));
        }
        catch (JsonException ex)
        {
            throw new PairsFormatException($"pairs file '{path}' line {lineNumber}: not valid JSON ({ex.Message}).", ex);
        }
    }

    private static async IAsyncEnumerable<LabelledPair> ReadParquetAsync(string path, string root, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (ParquetFooterCheck.Check(path) is { } damage)
        {
            throw new PairsFormatException($"pairs file '{path}' is not a Parquet file: {damage}.");
        }

        ParquetReader reader;
        ParquetPairsLayout layout;
        try
        {
            reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (IsParquetFailure(ex))
        {
            throw new PairsFormatException($"pairs file '{path}' is not a Parquet file: {ex.Message}", ex);
        }

        await using (reader)
        {
            try
            {
                layout = ParquetPairsLayout.From(reader.Schema, path);
            }
            catch (Exception ex) when (IsParquetFailure(ex))
            {
                throw new PairsFormatException($"pairs file '{path}' has an unreadable Parquet schema: {ex.Message}", ex);
            }

            var label = Path.GetFileName(path);
            var rowBase = 0L;
            for (var group = 0; group < reader.RowGroupCount; group++)
            {
                ParquetPairsLayout.Group columns;
                try
                {
                    using var rowGroup = reader.OpenRowGroupReader(group);
                    if (rowGroup.RowCount is < 0 or > MaxRowsPerGroup)
                    {
                        throw new InvalidDataException($"the row group declares {rowGroup.RowCount} rows (at most {MaxRowsPerGroup} are read at once)");
                    }

                    columns = await layout.ReadAsync(rowGroup, (int)rowGroup.RowCount, cancellationToken);
                }
                catch (Exception ex) when (IsParquetFailure(ex))
                {
                    throw new PairsFormatException($"pairs file '{path}' row group {group + 1}: {ex.Message}", ex);
                }

                for (var r = 0; r < columns.Rows; r++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var rowNumber = rowBase + r + 1;
                    var where = string.Create(CultureInfo.InvariantCulture, $"row {rowNumber}");
                    var generated = Image(columns.Generated, r, root, path, where, layout.GeneratedName, label);
                    var real = Image(columns.Real, r, root, path, where, layout.RealName, label);
                    var level = columns.Levels[r]?.ToString(CultureInfo.InvariantCulture) ?? columns.LevelTexts?[r];
                    yield return Row(path, where, columns.Names?[r], level, generated.Reference, real.Reference) with
                    {
                        GeneratedBytes = generated.Bytes,
                        RealBytes = real.Bytes,
                    };
                }

                rowBase += columns.Rows;
            }
        }
    }

    /// <summary>One image cell: its bytes where the file holds them (then the reference only labels it), else a path.</summary>
    private static (string Reference, byte[]? Bytes) Image(ParquetPairsLayout.ImageColumn column, int row, string root, string path, string where, string columnName, string label)
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

        throw new PairsFormatException($"pairs file '{path}' {where}: {columnName} has neither image bytes nor a path.");
    }

    /// <summary>
    /// Anything the Parquet library throws on a damaged file (its own Thrift errors, index and cast errors, allocation
    /// failures from sizes a corrupt header promises) is a format failure of that file; only cancellation is not.
    /// </summary>
    private static bool IsParquetFailure(Exception ex) => ex is not (OperationCanceledException or PairsFormatException);

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
