using System.Collections.Concurrent;
using Icdiff.Core;
using Icdiff.History;
using Icdiff.Imaging.Skia;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Dashboard;

/// <summary>What a thumbnail request finds.</summary>
public enum ThumbnailStatus
{
    Ok,

    /// <summary>The run recorded no such image, the corpus no longer lists it, or it does not decode.</summary>
    NotFound,

    /// <summary>The image's stamp is not the one the run read: the corpus changed, or another corpus is at its location.</summary>
    Changed,

    /// <summary>A link leading out of the corpus folder: never followed.</summary>
    Refused,

    /// <summary>Every decode slot stayed busy, or the read and decode ran past the time limit.</summary>
    Busy,
}

/// <summary>A thumbnail, or why there is none (<see cref="Message"/> says it in words).</summary>
public sealed record ThumbnailResult(ThumbnailStatus Status, byte[]? Jpeg, string? Message);

/// <summary>
/// Thumbnails (and prompts, where the corpus has them) for the review page, read on demand from the original corpora.
/// Only images the run recorded are served, and only while their stamp is the one the run read (a file added later, a
/// file changed since, or another folder under the same path says so instead of showing other content); a link out of
/// a folder corpus is never followed. Decodes stay within <c>Icdiff:Decoder:MaxPixels</c> (scaled or row-sampled, see
/// <see cref="ThumbnailRenderer"/>), run a few at a time under a time limit, identical requests share one decode, and
/// results are kept in a cache bounded by size.
/// </summary>
public sealed partial class CorpusPreviewService : IDisposable
{
    private const int MaxEdge = 192;
    private const long MaxBytes = 256L * 1024 * 1024;
    private static readonly TimeSpan ListingLifetime = TimeSpan.FromMinutes(5);

    private readonly CorpusSourceResolver _corpora;
    private readonly IRunHistoryStore _history;
    private readonly IcdiffDashboardOptions _options;
    private readonly long _maxPixels;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<Listing>>> _listings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<ThumbnailResult>>> _inFlight = new(StringComparer.Ordinal);
    private readonly MemoryCache _cache;
    private readonly SemaphoreSlim _decodeSlots;

    public CorpusPreviewService(CorpusSourceResolver corpora, IRunHistoryStore history, IOptions<IcdiffDashboardOptions> options, IOptions<DecoderOptions> decoder, ILogger<CorpusPreviewService> logger)
    {
        _corpora = corpora;
        _history = history;
        _options = options.Value;
        _maxPixels = decoder.Value.MaxPixels;
        _logger = logger;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.ThumbnailCacheBytes });
        _decodeSlots = new SemaphoreSlim(_options.EffectiveThumbnailDecodes);
    }

    /// <summary>Decodes run so far, for tests and metrics: identical requests share one.</summary>
    public int DecodesStarted => _decodesStarted;

    private int _decodesStarted;

    /// <summary>
    /// The thumbnail of <paramref name="key"/>, a generated image of <paramref name="model"/> (or, with a null model, a
    /// gallery image some match of the run points at) in the corpus at <paramref name="location"/>, as run
    /// <paramref name="runId"/> recorded it.
    /// </summary>
    public async Task<ThumbnailResult> GetThumbnailAsync(string runId, string? model, string location, string key, CancellationToken cancellationToken)
    {
        if (await _history.FindRecordedAsync(runId, model, key, cancellationToken) is not { } recorded)
        {
            return new ThumbnailResult(ThumbnailStatus.NotFound, null, $"run {runId} recorded no image '{key}'{(model is null ? " in its gallery" : $" of model {model}")}.");
        }

        Listing listing;
        try
        {
            listing = await ListingAsync(location, cancellationToken);
        }
        catch (Exception ex) when (ex is CorpusException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            return new ThumbnailResult(ThumbnailStatus.NotFound, null, $"the corpus at {location} cannot be listed: {ex.Message}");
        }

        if (!listing.Items.TryGetValue(key, out var item))
        {
            return new ThumbnailResult(ThumbnailStatus.NotFound, null, $"the corpus at {location} no longer lists '{key}'.");
        }

        if (listing.Root is { } root && LeadsOutOf(root, item.Uri))
        {
            return new ThumbnailResult(ThumbnailStatus.Refused, null, $"'{key}' is a link out of the corpus folder; not followed.");
        }

        if (recorded.Stamp is { } stamp && !string.Equals(stamp, item.Stamp, StringComparison.Ordinal))
        {
            return new ThumbnailResult(ThumbnailStatus.Changed, null, $"'{key}' is not the image run {runId} read (its stamp changed): the corpus at {location} changed or is another one since the run.");
        }

        var cacheKey = $"{location}\n{key}\n{item.Stamp}";
        if (_cache.TryGetValue(cacheKey, out byte[]? cached) && cached is not null)
        {
            return new ThumbnailResult(ThumbnailStatus.Ok, cached, null);
        }

        // Identical requests share one read and decode; the waiters give up on their own cancellation only.
        // The shared entry goes once its decode ends, whether or not anyone still waits: a later request then finds the
        // cached image, or (after a refusal or a time-out) tries again, never an old answer.
        var shared = _inFlight.GetOrAdd(cacheKey, k => new Lazy<Task<ThumbnailResult>>(() => RenderAsync(k, listing.Source, item)));
        var rendering = shared.Value;
        _ = rendering.ContinueWith(_ => _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<ThumbnailResult>>>(cacheKey, shared)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return await rendering.WaitAsync(cancellationToken);
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

    public void Dispose()
    {
        _cache.Dispose();
        _decodeSlots.Dispose();
    }

    private async Task<ThumbnailResult> RenderAsync(string cacheKey, ICorpusSource source, CorpusItem item)
    {
        // A slot per concurrent decode: a burst of requests for large images waits here instead of taking every
        // thread and gigabytes of memory; one that waits too long is told to come back.
        if (!await _decodeSlots.WaitAsync(_options.ThumbnailTimeout))
        {
            return new ThumbnailResult(ThumbnailStatus.Busy, null, "every thumbnail decode is busy; try again.");
        }

        Interlocked.Increment(ref _decodesStarted);
        using var limit = new CancellationTokenSource(_options.ThumbnailTimeout);
        var job = Task.Run(async () =>
        {
            var bytes = await source.ReadAsync(item, MaxBytes, limit.Token);
            return ThumbnailRenderer.RenderJpeg(bytes, MaxEdge, _maxPixels);
        });

        // The slot is given back when the job really ends, not at the time limit: a decode that cannot be stopped
        // keeps its slot, so stuck decodes never number more than the slots.
        _ = job.ContinueWith(_ => _decodeSlots.Release(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            var jpeg = await job.WaitAsync(_options.ThumbnailTimeout);
            if (jpeg is null)
            {
                return new ThumbnailResult(ThumbnailStatus.NotFound, null, $"'{item.Key}' does not decode within the limits.");
            }

            _cache.Set(cacheKey, jpeg, new MemoryCacheEntryOptions { Size = jpeg.Length, SlidingExpiration = TimeSpan.FromMinutes(30) });
            return new ThumbnailResult(ThumbnailStatus.Ok, jpeg, null);
        }
        catch (TimeoutException)
        {
            Log.ThumbnailTimedOut(_logger, item.Key, _options.ThumbnailTimeout.TotalSeconds);
            return new ThumbnailResult(ThumbnailStatus.Busy, null, $"'{item.Key}' took longer than {_options.ThumbnailTimeout.TotalSeconds:0.#} s to read and decode.");
        }
        catch (Exception ex) when (ex is ItemReadException or IOException or OperationCanceledException)
        {
            return new ThumbnailResult(ThumbnailStatus.NotFound, null, $"'{item.Key}' cannot be read: {ex.Message}");
        }
    }

    /// <summary>Whether a folder corpus's file resolves, through links, to a place outside the folder.</summary>
    private static bool LeadsOutOf(string root, string path)
    {
        try
        {
            var target = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
            var real = RealFolder(Path.GetDirectoryName(target)!) + Path.DirectorySeparatorChar;
            return !real.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>A folder with every link on its way resolved (parents included), so a comparison of prefixes means containment.</summary>
    private static string RealFolder(string folder)
    {
        var info = new DirectoryInfo(folder);
        var resolved = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        if (resolved is not null)
        {
            return RealFolder(resolved);
        }

        return info.Parent is null ? info.FullName.TrimEnd(Path.DirectorySeparatorChar) : Path.Combine(RealFolder(info.Parent.FullName), info.Name);
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
            var source = _corpora.Open(location);
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

            var root = !location.Contains("://", StringComparison.Ordinal) && Directory.Exists(location) ? RealFolder(Path.GetFullPath(location)) : null;
            return new Listing(source, items, prompts, root, DateTimeOffset.UtcNow);
        }
        catch
        {
            // A failed listing is not kept: the next request tries again.
            _listings.TryRemove(location, out _);
            throw;
        }
    }

    private sealed record Listing(ICorpusSource Source, Dictionary<string, CorpusItem> Items, Dictionary<string, string> Prompts, string? Root, DateTimeOffset At);

    private static partial class Log
    {
        [LoggerMessage(EventId = DashboardEventIds.ThumbnailTimedOut, Level = LogLevel.Warning, Message = "Thumbnail of {Key} took longer than {Seconds} s to read and decode; answered as busy")]
        public static partial void ThumbnailTimedOut(ILogger logger, string key, double seconds);
    }
}
