using System.Collections.Concurrent;
using Icdiff.Core;
using Icdiff.Imaging.Skia;

namespace Icdiff.Dashboard;

/// <summary>
/// Thumbnails (and prompts, where the corpus has them) for the review page, read on demand from the original corpora (folder, blob container or manifest).
/// Only keys the corpus itself lists are served (a listing per corpus, kept a few minutes), and locations come from
/// the history, never from the request: a request cannot name a file the run did not audit.
/// </summary>
public sealed class CorpusPreviewService(CorpusSourceResolver corpora)
{
    private const int MaxEdge = 192;
    private const int MaxCached = 4000;
    private const long MaxBytes = 256L * 1024 * 1024;
    private static readonly TimeSpan ListingLifetime = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, Lazy<Task<Listing>>> _listings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Location, string Key), byte[]> _thumbnails = new();

    /// <summary>The JPEG thumbnail of <paramref name="key"/> in <paramref name="location"/>, or null when it is not listed there or cannot be read or decoded.</summary>
    public async Task<byte[]?> GetThumbnailAsync(string location, string key, CancellationToken cancellationToken)
    {
        if (_thumbnails.TryGetValue((location, key), out var cached))
        {
            return cached;
        }

        try
        {
            var listing = await ListingAsync(location, cancellationToken);
            if (!listing.Items.TryGetValue(key, out var item))
            {
                return null;
            }

            var bytes = await listing.Source.ReadAsync(item, MaxBytes, cancellationToken);
            var thumbnail = ThumbnailRenderer.RenderJpeg(bytes, MaxEdge);
            if (thumbnail is not null)
            {
                if (_thumbnails.Count >= MaxCached)
                {
                    _thumbnails.Clear();
                }

                _thumbnails[(location, key)] = thumbnail;
            }

            return thumbnail;
        }
        catch (Exception ex) when (ex is CorpusException or ItemReadException or IOException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The prompts of a corpus's images by key (empty when its source has none: folders, blob containers).</summary>
    public async Task<IReadOnlyDictionary<string, string>> PromptsAsync(string location, CancellationToken cancellationToken)
    {
        try
        {
            return (await ListingAsync(location, cancellationToken)).Prompts;
        }
        catch (Exception ex) when (ex is CorpusException or IOException or ArgumentException)
        {
            return new Dictionary<string, string>();
        }
    }

    private async Task<Listing> ListingAsync(string location, CancellationToken cancellationToken)
    {
        var lazy = _listings.GetOrAdd(location, l => new Lazy<Task<Listing>>(() => LoadAsync(l)));
        var listing = await lazy.Value.WaitAsync(cancellationToken);
        if (DateTimeOffset.UtcNow - listing.At > ListingLifetime)
        {
            _listings.TryRemove(new KeyValuePair<string, Lazy<Task<Listing>>>(location, lazy));
        }

        return listing;
    }

    private async Task<Listing> LoadAsync(string location)
    {
        try
        {
            var source = corpora.Open(location);
            var items = new Dictionary<string, CorpusItem>(StringComparer.Ordinal);
            await foreach (var item in source.ListAsync(CancellationToken.None))
            {
                items[item.Key] = item;
            }

            var prompts = new Dictionary<string, string>(StringComparer.Ordinal);
            if (source is IPromptedCorpus prompted)
            {
                await foreach (var (key, prompt) in prompted.ListPromptsAsync(CancellationToken.None))
                {
                    prompts[key] = prompt;
                }
            }

            return new Listing(source, items, prompts, DateTimeOffset.UtcNow);
        }
        catch
        {
            // A failed listing is not kept: the next request tries again.
            _listings.TryRemove(location, out _);
            throw;
        }
    }

    private sealed record Listing(ICorpusSource Source, Dictionary<string, CorpusItem> Items, Dictionary<string, string> Prompts, DateTimeOffset At);
}
