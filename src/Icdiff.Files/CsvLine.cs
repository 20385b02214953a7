using System.Text;

namespace Icdiff.Files;

/// <summary>
/// RFC 4180 fields of one CSV record: quoted fields may hold commas, doubled quotes and line breaks (a reader joins
/// the lines of a record whose quoted field is still open when a line ends, and splits the whole).
/// </summary>
public static class CsvLine
{
    /// <summary>
    /// One field to write: quoted when it holds a comma, quote or line break; a value a spreadsheet would run as a
    /// formula (leading =, +, -, @, tab or carriage return) gets a leading apostrophe. Null is an empty field.
    /// </summary>
    public static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    /// <summary>Splits <paramref name="line"/>; false when a quoted field is not closed.</summary>
    public static bool TrySplit(string line, out List<string> fields)
    {
        fields = [];
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        fields.Add(field.ToString());
        return !quoted;
    }
}
