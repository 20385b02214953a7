using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Icdiff.Core;
using Icdiff.Files;
using Parquet;
using Parquet.Schema;

namespace Icdiff.Corpora.Manifest;

/// <summary>
/// Streams the rows of a manifest: CSV (RFC 4180 with a header row), JSON Lines (one object per line) or Parquet
/// (one row group in memory at a time), chosen by extension. Columns are matched case-insensitively: the image
/// under <c>uri</c> (or path, url, image, file), optional <c>model</c>, <c>prompt</c>, <c>key</c> (or id) and
/// <c>stamp</c> (or sha256, md5, etag); other columns become metadata. A malformed row stops the reading with an
/// error naming file and line: a silently dropped row would change a ratio without anyone knowing.
/// </summary>
public static class ManifestReader
{
    /// <summary>Rows of one Parquet row group held in memory at once; a larger (or corrupt) count is refused.</summary>
    private const long MaxRowsPerGroup = 10_000_000;

    public static readonly FrozenSet<string> Extensions = FrozenSet.Create(StringComparer.OrdinalIgnoreCase, ".csv", ".jsonl", ".ndjson", ".parquet");

    private static readonly string[] UriColumns = ["uri", "path", "url", "image", "file"];
    private static readonly string[] KeyColumns = ["key", "id"];
    private static readonly string[] StampColumns = ["stamp", "sha256", "md5", "etag"];
    private const int MaxLineChars = 1 << 20;
    private const int MaxFieldChars = 64 * 1024;

    public static bool IsManifestPath(string path) => Extensions.Contains(Path.GetExtension(path));

    public static IAsyncEnumerable<ManifestRow> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var node = FileNode.Probe(path);
        if (!node.Exists)
        {
            throw new ManifestFormatException($"manifest '{path}' does not exist.");
        }

        // A FIFO named like a manifest would block the open until some writer came; a device would never end.
        if (node.Kind != FileNodeKind.RegularFile)
        {
            throw new ManifestFormatException($"manifest '{path}' is {FileNode.Describe(node.Kind)}, not a regular file.");
        }

        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".csv" => ReadCsvAsync(path, cancellationToken),
            ".jsonl" or ".ndjson" => ReadJsonLinesAsync(path, cancellationToken),
            ".parquet" => ReadParquetAsync(path, cancellationToken),
            var other => throw new ManifestFormatException($"manifest '{path}': unknown format '{other}'; use .csv, .jsonl or .parquet."),
        };
    }

    private static async IAsyncEnumerable<ManifestRow> ReadCsvAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stream = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var reader = Lines(stream);
        var header = await ReadBoundedLineAsync(reader, path, 1, cancellationToken) ?? throw new ManifestFormatException($"manifest '{path}' is empty.");
        var columns = SplitCsv(header, path, 1).Select(c => c.Trim()).ToArray();
        var layout = ColumnLayout.From(columns, path);
        var lineNumber = 1L;
        while (await ReadBoundedLineAsync(reader, path, lineNumber + 1, cancellationToken) is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            // RFC 4180: a quoted field may hold line breaks (a multi-line prompt), so a record may span lines.
            var first = lineNumber;
            var record = line;
            List<string> fields;
            while (!CsvLine.TrySplit(record, out fields))
            {
                var next = await ReadBoundedLineAsync(reader, path, lineNumber + 1, cancellationToken)
                    ?? throw new ManifestFormatException($"manifest '{path}' line {first}: a quoted field is not closed before the end of the file.");
                lineNumber++;
                record += "\n" + next;
                if (record.Length > MaxLineChars)
                {
                    throw new ManifestFormatException($"manifest '{path}' line {first}: a record longer than {MaxLineChars} characters (is a quote not closed?).");
                }
            }

            if (fields.Count != columns.Length)
            {
                throw new ManifestFormatException($"manifest '{path}' line {first}: {fields.Count} fields where the header has {columns.Length}.");
            }

            yield return layout.Row(path, first, i => fields[i]);
        }
    }

    private static async IAsyncEnumerable<ManifestRow> ReadJsonLinesAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stream = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var reader = Lines(stream);
        var lineNumber = 0L;
        while (await ReadBoundedLineAsync(reader, path, lineNumber + 1, cancellationToken) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            Dictionary<string, string?> values;
            try
            {
                using var doc = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 16 });
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new ManifestFormatException($"manifest '{path}' line {lineNumber}: expected a JSON object.");
                }

                values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                foreach (var property in doc.RootElement.EnumerateObject())
                {
                    values[property.Name] = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString(),
                        JsonValueKind.Null => null,
                        _ => property.Value.GetRawText(),
                    };
                }
            }
            catch (JsonException ex)
            {
                throw new ManifestFormatException($"manifest '{path}' line {lineNumber}: not valid JSON ({ex.Message}).", ex);
            }

            var names = values.Keys.ToArray();
            var layout = ColumnLayout.From(names, path, lineNumber);
            yield return layout.Row(path, lineNumber, i => values[names[i]]);
        }
    }

    private static async IAsyncEnumerable<ManifestRow> ReadParquetAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (ParquetFooterCheck.Check(path) is { } damage)
        {
            throw new ManifestFormatException($"manifest '{path}' is not a readable Parquet file: {damage}.");
        }

        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (IsParquetFailure(ex))
        {
            throw new ManifestFormatException($"manifest '{path}' is not a readable Parquet file: {ex.Message}", ex);
        }

        await using (reader)
        {
            DataField[] fields;
            try
            {
                fields = reader.Schema.GetDataFields();
            }
            catch (Exception ex) when (IsParquetFailure(ex))
            {
                throw new ManifestFormatException($"manifest '{path}' has an unreadable Parquet schema: {ex.Message}", ex);
            }

            var layout = ColumnLayout.From([.. fields.Select(f => f.Name)], path);
            var rowBase = 0L;
            for (var group = 0; group < reader.RowGroupCount; group++)
            {
                string?[][] columns;
                long rows;
                try
                {
                    using var rowGroup = reader.OpenRowGroupReader(group);
                    rows = rowGroup.RowCount;
                    if (rows is < 0 or > MaxRowsPerGroup)
                    {
                        throw new InvalidDataException($"the row group declares {rows} rows (at most {MaxRowsPerGroup} are read at once)");
                    }

                    columns = new string?[fields.Length][];
                    for (var c = 0; c < fields.Length; c++)
                    {
                        columns[c] = await ReadColumnAsStringsAsync(rowGroup, fields[c], (int)rows, cancellationToken);
                    }
                }
                catch (Exception ex) when (IsParquetFailure(ex))
                {
                    throw new ManifestFormatException($"manifest '{path}' row group {group + 1}: {ex.Message}", ex);
                }

                for (var r = 0; r < rows; r++)
                {
                    var row = r;
                    yield return layout.Row(path, rowBase + r + 1, c => columns[c][row], "row");
                }

                rowBase += rows;
            }
        }
    }

    private static async Task<string?[]> ReadColumnAsStringsAsync(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
    {
        if (field.MaxRepetitionLevel > 0)
        {
            throw new InvalidDataException($"column '{field.Name}' is a list; manifest columns must be plain values");
        }

        // Parquet.Net 6 reports UTF-8 columns as ReadOnlyMemory<char>; either way they read as strings.
        if (field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>))
        {
            var values = new string?[rows];
            await rowGroup.ReadAsync(field, values.AsMemory()!, null, cancellationToken);
            return values;
        }

        // Only string columns are read; numbers and other scalars are metadata this reader does not carry.
        return new string?[rows];
    }

    /// <summary>
    /// Anything the Parquet library throws on a damaged file (its own Thrift errors, index and cast errors, allocation
    /// failures from sizes a corrupt header promises) is a format failure of that file; only cancellation is not.
    /// </summary>
    private static bool IsParquetFailure(Exception ex) => ex is not (OperationCanceledException or ManifestFormatException);

    private static async Task<string?> ReadBoundedLineAsync(BoundedLineReader reader, string path, long lineNumber, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadLineAsync(cancellationToken);
        }
        catch (LineTooLongException ex)
        {
            throw new ManifestFormatException($"manifest '{path}' line {lineNumber}: longer than {MaxLineChars} characters.", ex);
        }
    }

    /// <summary>A text manifest's lines, each at most <see cref="MaxLineChars"/> long; the stream is the caller's to dispose.</summary>
    private static BoundedLineReader Lines(StreamReader reader) => new(reader, MaxLineChars);

    private static List<string> SplitCsv(string line, string path, long lineNumber) =>
        CsvLine.TrySplit(line, out var fields) ? fields : throw new ManifestFormatException($"manifest '{path}' line {lineNumber}: a quoted field is not closed.");

    /// <summary>Which column plays which part; built once per file (per line for JSON Lines, whose objects may differ).</summary>
    private sealed class ColumnLayout
    {
        private int _uri = -1;
        private int _model = -1;
        private int _prompt = -1;
        private int _key = -1;
        private int _stamp = -1;
        private string[] _names = [];

        public static ColumnLayout From(string[] names, string path, long? lineNumber = null)
        {
            var layout = new ColumnLayout { _names = names };
            var where = lineNumber is { } n ? $" line {n}" : string.Empty;
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < names.Length; i++)
            {
                if (!seen.Add(names[i]))
                {
                    throw new ManifestFormatException($"manifest '{path}'{where}: column '{names[i]}' appears twice.");
                }
            }

            layout._uri = Find(names, UriColumns);
            layout._model = Find(names, ["model"]);
            layout._prompt = Find(names, ["prompt"]);
            layout._key = Find(names, KeyColumns);
            layout._stamp = Find(names, StampColumns);
            if (layout._uri < 0)
            {
                throw new ManifestFormatException($"manifest '{path}'{where}: no image column; name one of {string.Join(", ", UriColumns)}.");
            }

            return layout;
        }

        public ManifestRow Row(string path, long line, Func<int, string?> value, string unit = "line")
        {
            var uri = value(_uri)?.Trim();
            if (string.IsNullOrEmpty(uri))
            {
                throw new ManifestFormatException($"manifest '{path}' {unit} {line}: the image column '{_names[_uri]}' is empty.");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < _names.Length; i++)
            {
                var v = value(i);
                if (v is null)
                {
                    continue;
                }

                if (v.Length > MaxFieldChars)
                {
                    throw new ManifestFormatException($"manifest '{path}' {unit} {line}: column '{_names[i]}' is longer than {MaxFieldChars} characters.");
                }

                if (i != _uri && i != _model && i != _prompt && i != _key && i != _stamp)
                {
                    metadata[_names[i]] = v;
                }
            }

            string? Optional(int i) => i < 0 || string.IsNullOrWhiteSpace(value(i)) ? null : value(i)!.Trim();
            var prompt = _prompt < 0 ? null : value(_prompt);
            return new ManifestRow(line, uri, Optional(_model), prompt, Optional(_key), Optional(_stamp), metadata);
        }

        private static int Find(string[] names, string[] candidates)
        {
            foreach (var candidate in candidates)
            {
                var index = Array.FindIndex(names, n => string.Equals(n, candidate, StringComparison.OrdinalIgnoreCase));
                if (index >= 0)
                {
                    return index;
                }
            }

            return -1;
        }
    }
}
