using System.Globalization;
using System.Runtime.CompilerServices;
using Icdiff.Files;
using Parquet;
using Parquet.Schema;

namespace Icdiff.Tabular;

/// <summary>One row group as the caller's layout read it, and the file-wide number of its first row (1-based).</summary>
public sealed record ParquetRowGroup<TGroup>(TGroup Columns, long FirstRow, int Rows);

/// <summary>
/// The row groups of a Parquet file, one in memory at a time, each read by the caller's layout. The footer is checked
/// before the library sees the file; anything the library throws on a damaged file (its own Thrift errors, index and
/// cast errors, allocations a corrupt header promises) becomes the caller's error naming the file and the row group.
/// </summary>
public static class ParquetRowGroups
{
    /// <param name="layout">Reads the schema once: which columns play which part; throws the caller's error when the schema does not fit.</param>
    /// <param name="read">Reads one row group's columns through the layout.</param>
    public static async IAsyncEnumerable<ParquetRowGroup<TGroup>> ReadAsync<TLayout, TGroup>(
        TabularSource source,
        Func<ParquetSchema, TLayout> layout,
        Func<TLayout, ParquetRowGroupReader, int, CancellationToken, Task<TGroup>> read,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (ParquetFooterCheck.Check(source.Path) is { } damage)
        {
            throw source.Fail($" is not a readable Parquet file (not a Parquet file, or a damaged one): {damage}.");
        }

        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(source.Path, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (source.IsLibraryFailure(ex))
        {
            throw source.Fail($" is not a readable Parquet file (not a Parquet file, or a damaged one): {ex.Message}", ex);
        }

        await using (reader)
        {
            TLayout columns;
            try
            {
                columns = layout(reader.Schema);
            }
            catch (Exception ex) when (source.IsLibraryFailure(ex))
            {
                throw source.Fail($" has an unreadable Parquet schema: {ex.Message}", ex);
            }

            var firstRow = 1L;
            for (var group = 0; group < reader.RowGroupCount; group++)
            {
                TGroup values;
                int rows;
                try
                {
                    using var rowGroup = reader.OpenRowGroupReader(group);
                    if (rowGroup.RowCount < 0 || rowGroup.RowCount > source.MaxRowsPerGroup)
                    {
                        throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"the row group declares {rowGroup.RowCount} rows (at most {source.MaxRowsPerGroup} are read at once)"));
                    }

                    rows = (int)rowGroup.RowCount;
                    values = await read(columns, rowGroup, rows, cancellationToken);
                }
                catch (Exception ex) when (source.IsLibraryFailure(ex))
                {
                    throw source.FailAt(string.Create(CultureInfo.InvariantCulture, $"row group {group + 1}"), ex.Message, ex);
                }

                yield return new ParquetRowGroup<TGroup>(values, firstRow, rows);
                firstRow += rows;
            }
        }
    }

    /// <summary>
    /// Strings of one plain (not repeated) column; null for a column of another type, whose values this reader does
    /// not carry. Parquet.Net 6 reports UTF-8 columns as <see cref="ReadOnlyMemory{T}"/> of char; either way they read as strings.
    /// </summary>
    public static async Task<string?[]> ReadStringsAsync(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
    {
        if (field.MaxRepetitionLevel > 0)
        {
            throw new InvalidDataException($"column '{field.Name}' is a list; columns must be plain values");
        }

        var values = new string?[rows];
        if (field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>))
        {
            await rowGroup.ReadAsync(field, values.AsMemory()!, null, cancellationToken);
        }

        return values;
    }

}
