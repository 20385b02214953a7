using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Icdiff.Tabular;

/// <summary>
/// One JSON Lines object: its line, and its members by name (case-insensitive) as text: strings as they are, null as
/// null, numbers, booleans, arrays and objects as their JSON text. <see cref="Names"/> keeps the members' order.
/// </summary>
public sealed record JsonLineRecord(long Line, string[] Names, IReadOnlyDictionary<string, string?> Values);

/// <summary>The objects of a JSON Lines file, one per non-blank line, each line bounded while it is read.</summary>
public static class JsonLineRecords
{
    public static async IAsyncEnumerable<JsonLineRecord> ReadAsync(TabularSource source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var file = new StreamReader(source.Path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var lines = new BoundedLineReader(file, source.MaxLineChars);
        var lineNumber = 0L;
        while (true)
        {
            string? line;
            try
            {
                line = await lines.ReadLineAsync(cancellationToken);
            }
            catch (LineTooLongException ex)
            {
                throw source.FailAt(string.Create(CultureInfo.InvariantCulture, $"line {lineNumber + 1}"), $"longer than {source.MaxLineChars} characters.", ex);
            }

            if (line is null)
            {
                yield break;
            }

            lineNumber++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                yield return Parse(source, line, lineNumber);
            }
        }
    }

    private static JsonLineRecord Parse(TabularSource source, string line, long lineNumber)
    {
        var where = string.Create(CultureInfo.InvariantCulture, $"line {lineNumber}");
        try
        {
            using var doc = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = source.MaxJsonDepth });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw source.FailAt(where, "expected a JSON object.");
            }

            var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            var names = new List<string>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!values.ContainsKey(property.Name))
                {
                    names.Add(property.Name);
                }

                values[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => property.Value.GetRawText(),
                };
            }

            return new JsonLineRecord(lineNumber, [.. names], values);
        }
        catch (JsonException ex)
        {
            throw source.FailAt(where, $"not valid JSON ({ex.Message}).", ex);
        }
    }
}
