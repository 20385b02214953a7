using System.Globalization;
using System.Runtime.InteropServices;

namespace Icdiff.Index.Embedded;

/// <summary>
/// Appends gallery embeddings (float32 tokens) to token segment files in one folder and returns each one's locator
/// (segment number above <see cref="SegmentShift"/>, record number below). One writer per file: each writer starts a
/// new segment after the highest on disk, so an index re-activated on another silo never appends to a file that
/// another process may still hold; segments are never rewritten, so every published locator stays valid.
/// </summary>
public sealed class TokenSegmentWriter(string folder) : IAsyncDisposable, IDisposable
{
    /// <summary>Locators hold the segment number above this bit and the record number below it.</summary>
    public const int SegmentShift = 40;

    private FileStream? _segment;
    private long _segmentNumber;
    private long _segmentRecords;

    public string Folder => folder;

    public static string SegmentPath(string folder, long number) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"tokens-{number:D6}.seg"));

    public long Append(float[] embedding)
    {
        var segment = Open();
        segment.Write(MemoryMarshal.AsBytes(embedding.AsSpan()));
        return (_segmentNumber << SegmentShift) | _segmentRecords++;
    }

    /// <summary>Tokens reach the disk before any snapshot that points at them is published.</summary>
    public async Task FlushAsync()
    {
        if (_segment is not null)
        {
            await _segment.FlushAsync();
            _segment.Flush(flushToDisk: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_segment is not null)
        {
            await _segment.DisposeAsync();
            _segment = null;
        }
    }

    public void Dispose()
    {
        _segment?.Dispose();
        _segment = null;
    }

    private FileStream Open()
    {
        if (_segment is not null)
        {
            return _segment;
        }

        Directory.CreateDirectory(folder);
        _segmentNumber = Directory.EnumerateFiles(folder, "tokens-*.seg")
            .Select(f => long.TryParse(Path.GetFileNameWithoutExtension(f)["tokens-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0)
            .DefaultIfEmpty(0).Max() + 1;
        _segment = new FileStream(SegmentPath(folder, _segmentNumber), FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
        _segmentRecords = 0;
        return _segment;
    }
}
