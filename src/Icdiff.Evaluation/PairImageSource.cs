using System.Globalization;
using Icdiff.Core;
using Icdiff.Corpora.FileSystem;

namespace Icdiff.Evaluation;

/// <summary>
/// The images of one chunk of pairs as a corpus the worker pipeline can read: images the pairs file carries are
/// served from memory (the pipeline decodes them in place, as it does any read), the rest are read from disk. It holds
/// only the current chunk's bytes, so a pairs file full of images is never in memory at once.
/// </summary>
internal sealed class PairImageSource : ICorpusSource
{
    private readonly LocalFolderCorpus _files = new(Path.GetPathRoot(Path.GetFullPath("."))!);
    private readonly Dictionary<string, byte[]> _inMemory = new(StringComparer.Ordinal);

    public string Location => "labelled pairs";

    /// <summary>Makes <paramref name="bytes"/> readable under <paramref name="key"/> until <see cref="Clear"/>.</summary>
    public void Add(string key, byte[] bytes) => _inMemory[key] = bytes;

    public void Clear() => _inMemory.Clear();

    public IAsyncEnumerable<CorpusItem> ListAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException("labelled pairs are read by key, never listed.");

    public ValueTask<byte[]> ReadAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken)
    {
        if (!_inMemory.TryGetValue(item.Uri, out var bytes))
        {
            return _files.ReadAsync(item, maxBytes, cancellationToken);
        }

        // The same limit and message as a file read, so a pair scores (or is skipped) alike in either layout.
        return bytes.LongLength > maxBytes
            ? throw new ItemReadException(SkipReason.TooLarge, string.Create(CultureInfo.InvariantCulture, $"file is {bytes.LongLength} bytes; the limit is {maxBytes}"))
            : ValueTask.FromResult(bytes);
    }

    public async ValueTask<ItemContent> ReadContentAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken) =>
        _inMemory.ContainsKey(item.Uri)
            ? ItemContent.Owned(await ReadAsync(item, maxBytes, cancellationToken))
            : await _files.ReadContentAsync(item, maxBytes, cancellationToken);
}
