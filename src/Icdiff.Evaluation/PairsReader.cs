using System.Globalization;
using System.Text;
using System.Text.Json;
using Icdiff.Core;
using System.Text.Json.Serialization;
using Parquet.Serialization;

namespace Icdiff.Evaluation;

/// <summary>
/// Reads labelled pairs from CSV (header row: name, level, generated, real), JSON Lines (objects with those
/// fields) or Parquet (columns with those names), chosen by extension. Image paths are resolved against the
/// pairs file's folder. Every malformed row is an error naming the file and line: a silently dropped label would
/// bias the figures.
/// </summary>
public static class PairsReader
{
    private static readonly string[] Columns = ["name", "level", "generated", "real"];

    public static async Task<IReadOnlyList<LabelledPair>> ReadAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new PairsFormatException($"pairs file '{path}' does not exist.");
        }

        var root = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var rows = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".csv" => ReadCsv(path),
            ".jsonl" or ".ndjson" => ReadJsonLines(path),
            ".parquet" => await ReadParquetAsync(path, cancellationToken),
            var other => throw new PairsFormatException($"pairs file '{path}': unknown format '{other}'; use .csv, .jsonl or .parquet."),
        };
        return [.. rows.Select(r => r with { Generated = Resolve(root, r.Generated), Real = Resolve(root, r.Real) })];
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

    private static List<LabelledPair> ReadCsv(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var header = reader.ReadLine() ?? throw new PairsFormatException($"pairs file '{path}' is empty.");
        var names = SplitCsv(header, path, 1).Select(h => h.Trim().ToLowerInvariant()).ToList();
        var index = Columns.Select(c => names.IndexOf(c)).ToArray();
        if (index[1] < 0 || index[2] < 0 || index[3] < 0)
        {
            throw new PairsFormatException($"pairs file '{path}': the header must name the columns level, generated and real (and optionally name); it has: {header}");
        }

        var rows = new List<LabelledPair>();
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            var fields = SplitCsv(line, path, lineNumber);
            string? Field(int i) => i >= 0 && i < fields.Count ? fields[i] : null;
            rows.Add(Row(path, $"line {lineNumber}", Field(index[0]), Field(index[1]), Field(index[2]), Field(index[3])));
        }

        return rows;
    }

    private static List<string> SplitCsv(string line, string path, int lineNumber) =>
        CsvLine.TrySplit(line, out var fields) ? fields : throw new PairsFormatException($"pairs file '{path}' line {lineNumber}: a quoted field is not closed.");

    private static List<LabelledPair> ReadJsonLines(string path)
    {
        var rows = new List<LabelledPair>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

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
                rows.Add(Row(path, $"line {lineNumber}", Get("name"), Get("level"), Get("generated"), Get("real")));
            }
            catch (JsonException ex)
            {
                throw new PairsFormatException($"pairs file '{path}' line {lineNumber}: not valid JSON ({ex.Message}).", ex);
            }
        }

        return rows;
    }

    private static async Task<List<LabelledPair>> ReadParquetAsync(string path, CancellationToken cancellationToken)
    {
        if (ParquetFooterCheck.Check(path) is { } damage)
        {
            throw new PairsFormatException($"pairs file '{path}' is not a Parquet file: {damage}.");
        }

        IList<ParquetPairRow> rows;
        try
        {
            rows = (await ParquetSerializer.DeserializeAsync<ParquetPairRow>(path, cancellationToken: cancellationToken)).Data;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new PairsFormatException($"pairs file '{path}' is not a Parquet file with columns name (string), level (int32), generated and real (strings): {ex.Message}", ex);
        }

        return [.. rows.Select((r, i) => Row(path, $"row {i + 1}", r.Name, r.Level?.ToString(CultureInfo.InvariantCulture), r.Generated, r.Real))];
    }

    /// <summary>The Parquet row shape; public for the serializer, which maps properties to columns by name.</summary>
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
}
