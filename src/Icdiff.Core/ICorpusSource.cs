namespace Icdiff.Core;

/// <summary>A corpus of images, streamed: listing never materialises the whole corpus.</summary>
public interface ICorpusSource
{
    /// <summary>The location as the user gave it, safe to print (no secrets).</summary>
    string Location { get; }

    IAsyncEnumerable<CorpusItem> ListAsync(CancellationToken cancellationToken);

    /// <summary>Reads an item's bytes; larger than <paramref name="maxBytes"/> is an <see cref="ItemReadException"/>.</summary>
    ValueTask<byte[]> ReadAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken);

    /// <summary>Reads an item's bytes for immediate decoding, into a pooled buffer where the source can; dispose the result.</summary>
    async ValueTask<ItemContent> ReadContentAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken) =>
        ItemContent.Owned(await ReadAsync(item, maxBytes, cancellationToken));
}
