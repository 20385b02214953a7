using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Icdiff.Core;
using Icdiff.Tabular;

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

    public static readonly FrozenSet<string> Extensions = TabularSource.Extensions;

    private static readonly string[] UriColumns = ["uri", "path", "url", "image", "file"];
    private static readonly string[] KeyColumns = ["key", "id"];
    private static readonly string[] StampColumns = ["stamp", "sha256", "md5", "etag"];
    private const int MaxFieldChars = 64 * 1024;

    public static bool IsManifestPath(string path) => TabularSource.IsTabularPath(path);

    public static IAsyncEnumerable<ManifestRow> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var source = TabularSource.For(path, "manifest", (message, inner) => inner is null ? new ManifestFormatException(message) : new ManifestFormatException(message, inner), MaxRowsPerGroup);
        return source.Open() switch
        {
            TabularFormat.Csv => ReadCsvAsync(source, cancellationToken),
            TabularFormat.JsonLines => ReadJsonLinesAsync(source, cancellationToken),
            _ => ReadParquetAsync(source, cancellationToken),
        };
    }

    private static async IAsyncEnumerable<ManifestRow> ReadCsvAsync(TabularSource source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ColumnLayout? layout = null;
        var columns = 0;
        await foreach (var record in CsvRecords.ReadAsync(source, cancellationToken))
        {
            if (layout is null)
            {
                columns = record.Fields.Length;
                layout = ColumnLayout.From([.. record.Fields.Select(c => c.Trim())], source.Path);
                continue;
            }

            if (record.Fields.Length != columns)
            {
                throw source.FailAt($"line {record.Line}", $"{record.Fields.Length} fields where the header has {columns}.");
            }

            var fields = record.Fields;
            yield return layout.Row(source.Path, record.Line, i => fields[i]);
        }

        if (layout is null)
        {
            throw source.Fail(" is empty.");
        }
    }

    private static async IAsyncEnumerable<ManifestRow> ReadJsonLinesAsync(TabularSource source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var record in JsonLineRecords.ReadAsync(source, cancellationToken))
        {
            var layout = ColumnLayout.From(record.Names, source.Path, record.Line);
            yield return layout.Row(source.Path, record.Line, i => record.Values[record.Names[i]]);
        }
    }

    private static async IAsyncEnumerable<ManifestRow> ReadParquetAsync(TabularSource source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var groups = ParquetRowGroups.ReadAsync(
            source,
            schema =>
            {
                var fields = schema.GetDataFields();
                return (Fields: fields, Layout: ColumnLayout.From([.. fields.Select(f => f.Name)], source.Path));
            },
            async (columns, rowGroup, rows, ct) =>
            {
                var values = new string?[columns.Fields.Length][];
                for (var c = 0; c < values.Length; c++)
                {
                    // Only string columns are read; numbers and other scalars are metadata this reader does not carry.
                    values[c] = await ParquetRowGroups.ReadStringsAsync(rowGroup, columns.Fields[c], rows, ct);
                }

                return (columns.Layout, Values: values);
            },
            cancellationToken);
        await foreach (var group in groups)
        {
            for (var r = 0; r < group.Rows; r++)
            {
                var row = r;
                yield return group.Columns.Layout.Row(source.Path, group.FirstRow + r, c => group.Columns.Values[c][row], "row");
            }
        }
    }

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
