using System.Collections.Frozen;
using Icdiff.Files;

namespace Icdiff.Tabular;

/// <summary>The three layouts a tabular input may have, chosen by the file's extension.</summary>
public enum TabularFormat
{
    Csv,
    JsonLines,
    Parquet,
}

/// <summary>
/// One tabular file as its reader sees it: where it is, what the user calls it in messages ("manifest", "pairs
/// file"), the exception its caller's users catch, and the bounds that hold while it is read.
/// </summary>
public sealed class TabularSource
{
    public static readonly FrozenSet<string> Extensions = FrozenSet.Create(StringComparer.OrdinalIgnoreCase, ".csv", ".jsonl", ".ndjson", ".parquet");

    private readonly Func<string, Exception?, Exception> _error;
    private readonly Type _errorType;

    private TabularSource(string path, string noun, Func<string, Exception?, Exception> error, Type errorType, long maxRowsPerGroup, int maxLineChars, int maxJsonDepth)
    {
        Path = path;
        Noun = noun;
        _error = error;
        _errorType = errorType;
        MaxRowsPerGroup = maxRowsPerGroup;
        MaxLineChars = maxLineChars;
        MaxJsonDepth = maxJsonDepth;
    }

    public string Path { get; }

    /// <summary>What messages call the file: <c>{Noun} '{Path}' line 3: ...</c>.</summary>
    public string Noun { get; }

    /// <summary>Characters one physical line of a text file may hold; the limit holds while the line is read.</summary>
    public int MaxLineChars { get; }

    /// <summary>Rows of one Parquet row group held in memory at once; a larger (or corrupt) count is refused.</summary>
    public long MaxRowsPerGroup { get; }

    /// <summary>Nesting a JSON Lines object may have.</summary>
    public int MaxJsonDepth { get; }

    /// <summary>A file whose problems are reported as <typeparamref name="TError"/>, built by <paramref name="error"/> from a message and its cause.</summary>
    public static TabularSource For<TError>(string path, string noun, Func<string, Exception?, TError> error, long maxRowsPerGroup = 1_000_000, int maxLineChars = 1 << 20, int maxJsonDepth = 16)
        where TError : Exception => new(path, noun, error, typeof(TError), maxRowsPerGroup, maxLineChars, maxJsonDepth);

    public static bool IsTabularPath(string path) => Extensions.Contains(System.IO.Path.GetExtension(path));

    /// <summary>The caller's exception for a problem of the whole file.</summary>
    public Exception Fail(string problem, Exception? inner = null) => _error($"{Noun} '{Path}'{problem}", inner);

    /// <summary>The caller's exception for a problem at one line or row (<paramref name="where"/>: "line 3", "row 7").</summary>
    public Exception FailAt(string where, string problem, Exception? inner = null) => _error($"{Noun} '{Path}' {where}: {problem}", inner);

    /// <summary>The format the extension names, after checking the path is a regular file that exists.</summary>
    public TabularFormat Open()
    {
        var node = FileNode.Probe(Path);
        if (!node.Exists)
        {
            throw Fail(" does not exist.");
        }

        // A FIFO named like a table would block the open until some writer came; a device would never end.
        if (node.Kind != FileNodeKind.RegularFile)
        {
            throw Fail($" is {FileNode.Describe(node.Kind)}, not a regular file.");
        }

        return System.IO.Path.GetExtension(Path).ToLowerInvariant() switch
        {
            ".csv" => TabularFormat.Csv,
            ".jsonl" or ".ndjson" => TabularFormat.JsonLines,
            ".parquet" => TabularFormat.Parquet,
            var other => throw Fail($": unknown format '{other}'; use .csv, .jsonl or .parquet."),
        };
    }

    /// <summary>
    /// Whether <paramref name="ex"/>, thrown while a library read the file, is the file's fault: anything but
    /// cancellation and the caller's own errors (a layout that refuses a schema has already named the problem).
    /// </summary>
    public bool IsLibraryFailure(Exception ex) => ex is not OperationCanceledException && !_errorType.IsInstanceOfType(ex);
}
