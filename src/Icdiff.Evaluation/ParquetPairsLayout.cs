using System.Globalization;
using Parquet;
using Parquet.Schema;

namespace Icdiff.Evaluation;

/// <summary>
/// Where a Parquet pairs file keeps each part of a pair: name and level columns (level as int32, int64 or text) and,
/// per image, a path column, a binary column, or a struct with <c>bytes</c> and/or <c>path</c> (a Hugging Face Image
/// feature). Found once from the schema, then used to read each row group's columns.
/// </summary>
internal sealed class ParquetPairsLayout
{
    private readonly DataField? _name;
    private readonly DataField _level;
    private readonly ImageFields _generated;
    private readonly ImageFields _real;

    private ParquetPairsLayout(DataField? name, DataField level, ImageFields generated, ImageFields real)
    {
        _name = name;
        _level = level;
        _generated = generated;
        _real = real;
    }

    public string GeneratedName => _generated.Column;

    public string RealName => _real.Column;

    public static ParquetPairsLayout From(ParquetSchema schema, string path)
    {
        Field? Find(params string[] names) => schema.Fields.FirstOrDefault(f => names.Any(n => string.Equals(f.Name, n, StringComparison.OrdinalIgnoreCase)));
        var columns = string.Join(", ", schema.Fields.Select(f => f.Name));
        PairsFormatException Fail(string problem) => new($"pairs file '{path}': {problem} (columns: {columns}).");

        var name = Find("name") switch
        {
            null => null,
            DataField { MaxRepetitionLevel: 0 } f when IsText(f) => f,
            var other => throw Fail($"column '{other.Name}' must hold strings"),
        };
        var level = Find("level") switch
        {
            DataField { MaxRepetitionLevel: 0 } f when f.ClrType == typeof(int) || f.ClrType == typeof(long) || IsText(f) => f,
            null => throw Fail("there is no level column"),
            var other => throw Fail($"column '{other.Name}' must hold integers 0..5"),
        };
        var generated = ImageFields.From(Find(PairsReader.GeneratedColumnNames), "generated", Fail);
        var real = ImageFields.From(Find(PairsReader.RealColumnNames), "real", Fail);
        return new ParquetPairsLayout(name, level, generated, real);
    }

    public async Task<Group> ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken cancellationToken)
    {
        var names = _name is null ? null : await ReadTextAsync(rowGroup, _name, rows, cancellationToken);
        long?[] levels;
        string?[]? levelTexts = null;
        if (IsText(_level))
        {
            levels = new long?[rows];
            levelTexts = await ReadTextAsync(rowGroup, _level, rows, cancellationToken);
        }
        else
        {
            levels = await ReadIntegersAsync(rowGroup, _level, rows, cancellationToken);
        }

        return new Group(
            rows,
            names,
            levels,
            levelTexts,
            await _generated.ReadAsync(rowGroup, rows, cancellationToken),
            await _real.ReadAsync(rowGroup, rows, cancellationToken));
    }

    private static bool IsText(DataField field) => field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>);

    private static bool IsBinary(DataField field) => field.ClrType == typeof(byte[]) || field.ClrType == typeof(ReadOnlyMemory<byte>);

    // Raw reads keep a null cell apart from an empty one (the typed binary read gives an empty array for both): the
    // values come packed, and a row holds one exactly where its definition level is the field's maximum (a null
    // struct or a null field inside it has a lower one).
    private static async Task<string?[]> ReadTextAsync(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
    {
        using var raw = (Parquet.Data.RawColumnData<ReadOnlyMemory<char>>)await rowGroup.ReadRawColumnDataBaseAsync(field, cancellationToken);
        return Aligned(raw, rows, field, v => v.ToString());
    }

    private static async Task<byte[]?[]> ReadBinaryAsync(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
    {
        using var raw = (Parquet.Data.RawColumnData<ReadOnlyMemory<byte>>)await rowGroup.ReadRawColumnDataBaseAsync(field, cancellationToken);
        return Aligned(raw, rows, field, v => v.ToArray());
    }

    private static TOut?[] Aligned<TIn, TOut>(Parquet.Data.RawColumnData<TIn> raw, int rows, DataField field, Func<TIn, TOut> convert)
        where TIn : struct
        where TOut : class
    {
        var values = raw.Values;
        var levels = raw.DefinitionLevels;
        var result = new TOut?[rows];
        if (field.MaxDefinitionLevel == 0)
        {
            // A required column at the top level: one value per row, no levels.
            if (values.Length != rows)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"column '{field.Path}' holds {values.Length} values for {rows} rows"));
            }

            for (var r = 0; r < rows; r++)
            {
                result[r] = convert(values[r]);
            }

            return result;
        }

        if (levels.Length != rows)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"column '{field.Path}' has {levels.Length} definition levels for {rows} rows"));
        }

        var next = 0;
        for (var r = 0; r < rows; r++)
        {
            if (levels[r] != field.MaxDefinitionLevel)
            {
                continue;
            }

            if (next >= values.Length)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"column '{field.Path}' holds fewer values than its definition levels promise"));
            }

            result[r] = convert(values[next++]);
        }

        return result;
    }

    private static async Task<long?[]> ReadIntegersAsync(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
    {
        if (field.ClrType == typeof(long))
        {
            if (field.IsNullable)
            {
                var nullable = new long?[rows];
                await rowGroup.ReadAsync<long>(field, nullable.AsMemory(), null, cancellationToken);
                return nullable;
            }

            var values = new long[rows];
            await rowGroup.ReadAsync<long>(field, values.AsMemory(), null, cancellationToken);
            return [.. values.Select(v => (long?)v)];
        }

        if (field.IsNullable)
        {
            var nullable = new int?[rows];
            await rowGroup.ReadAsync<int>(field, nullable.AsMemory(), null, cancellationToken);
            return [.. nullable.Select(v => (long?)v)];
        }

        var ints = new int[rows];
        await rowGroup.ReadAsync<int>(field, ints.AsMemory(), null, cancellationToken);
        return [.. ints.Select(v => (long?)v)];
    }

    /// <summary>One row group's columns.</summary>
    public sealed record Group(int Rows, string?[]? Names, long?[] Levels, string?[]? LevelTexts, ImageColumn Generated, ImageColumn Real);

    /// <summary>One image column of a row group: bytes and/or paths per row.</summary>
    public sealed record ImageColumn(byte[]?[]? Bytes, string?[]? Paths);

    /// <summary>The leaf fields that hold one image: a binary field, a path field, or both (a struct's two fields).</summary>
    private sealed record ImageFields(string Column, DataField? Bytes, DataField? Paths)
    {
        public static ImageFields From(Field? field, string role, Func<string, PairsFormatException> fail)
        {
            switch (field)
            {
                case null:
                    throw fail($"there is no {role} image column ({string.Join(", ", role == "generated" ? PairsReader.GeneratedColumnNames : PairsReader.RealColumnNames)})");
                case DataField { MaxRepetitionLevel: 0 } d when IsText(d):
                    return new ImageFields(d.Name, null, d);
                case DataField { MaxRepetitionLevel: 0 } d when IsBinary(d):
                    return new ImageFields(d.Name, d, null);
                case StructField s:
                    var bytes = s.Fields.OfType<DataField>().FirstOrDefault(f => string.Equals(f.Name, "bytes", StringComparison.OrdinalIgnoreCase) && IsBinary(f) && f.MaxRepetitionLevel == 0);
                    var paths = s.Fields.OfType<DataField>().FirstOrDefault(f => string.Equals(f.Name, "path", StringComparison.OrdinalIgnoreCase) && IsText(f) && f.MaxRepetitionLevel == 0);
                    if (bytes is not null || paths is not null)
                    {
                        return new ImageFields(s.Name, bytes, paths);
                    }

                    break;
            }

            throw fail(string.Create(CultureInfo.InvariantCulture, $"column '{field.Name}' must be an image path (string), encoded image (binary) or a struct of bytes (binary) and path (string)"));
        }

        public async Task<ImageColumn> ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken cancellationToken) => new(
            Bytes is null ? null : await ReadBinaryAsync(rowGroup, Bytes, rows, cancellationToken),
            Paths is null ? null : await ReadTextAsync(rowGroup, Paths, rows, cancellationToken));
    }
}
