using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using Icdiff.Files;

namespace Icdiff.Tabular;

/// <summary>One CSV record: the physical line it starts on and its fields (a quoted field may span lines).</summary>
public sealed record CsvRecord(long Line, string[] Fields);

/// <summary>
/// The records of a CSV file, header included, through CsvHelper in RFC 4180 mode: quoted fields hold commas,
/// doubled quotes and line breaks of any kind (read as \n); blank lines are skipped. A stray quote inside an unquoted field is kept
/// as written (as spreadsheets do); a quoted field still open at the end of the file is an error naming the line its
/// record starts on, and so is a physical line past <see cref="TabularSource.MaxLineChars"/>.
/// </summary>
public static class CsvRecords
{
    public static async IAsyncEnumerable<CsvRecord> ReadAsync(TabularSource source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var file = new StreamReader(source.Path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        using var bounded = new LineLimitedReader(file, source.MaxLineChars);
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            HasHeaderRecord = false,
            Mode = CsvMode.RFC4180,
            IgnoreBlankLines = true,
            // A stray quote inside an unquoted field is kept as written; an unclosed quoted field is found below.
            BadDataFound = null,
            // A quoted field may span lines, each under the line limit: the field itself is bounded too.
            MaxFieldSize = source.MaxLineChars,
        };
        using var parser = new CsvParser(bounded, config);
        while (true)
        {
            bool more;
            try
            {
                more = await parser.ReadAsync();
            }
            catch (LineTooLongException ex)
            {
                throw source.FailAt(string.Create(CultureInfo.InvariantCulture, $"line {ex.Line}"), $"longer than {source.MaxLineChars} characters.", ex);
            }
            catch (MaxFieldSizeException ex)
            {
                throw source.FailAt(string.Create(CultureInfo.InvariantCulture, $"line {parser.RawRow}"), $"a field longer than {source.MaxLineChars} characters (is a quote not closed?).", ex);
            }

            if (!more)
            {
                yield break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var raw = parser.RawRecord;
            // A quoted field still open when the input ends leaves its record's quotes unbalanced: only a record holding
            // a quote can be one, and only those are split again to tell.
            var open = raw.Contains('"', StringComparison.Ordinal) && !CsvLine.TrySplit(raw, out _);
            var line = StartLine(parser.RawRow, raw, open);
            if (open)
            {
                throw source.FailAt(string.Create(CultureInfo.InvariantCulture, $"line {line}"), "a quoted field is not closed before the end of the file.");
            }

            var fields = new string[parser.Count];
            for (var i = 0; i < fields.Length; i++)
            {
                // A line break inside a quoted field reads as \n whatever the file's line endings: a prompt written on
                // Windows and on Linux is the same prompt.
                var field = parser[i];
                fields[i] = field.Contains('\r', StringComparison.Ordinal) ? field.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n') : field;
            }

            yield return new CsvRecord(line, fields);
        }
    }

    /// <summary>
    /// The line a record starts on: the parser counts the line it ends on; every line break inside the raw record
    /// but its terminator (none when a quote is still open at the end) was crossed since the record began.
    /// </summary>
    private static long StartLine(long endLine, string raw, bool open)
    {
        var breaks = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\n' || (raw[i] == '\r' && (i + 1 == raw.Length || raw[i + 1] != '\n')))
            {
                breaks++;
            }
        }

        var terminated = !open && raw.Length > 0 && raw[^1] is '\n' or '\r';
        return endLine - breaks + (terminated ? 1 : 0);
    }
}
