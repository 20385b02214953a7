using Icdiff.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Icdiff.Grains;

/// <summary>
/// A gallery index backend as the audit grains see it: which grain class keeps the index on a coordinator (it
/// implements <see cref="IGalleryIndexGrain"/>), and how a worker opens a sealed snapshot of it for search. The
/// backends live in their own projects (<c>Icdiff.Grains.Index.*</c>) and are composed by the host; the grains know
/// only this contract, and <c>Icdiff:Index:Kind</c> picks one of those registered.
/// </summary>
public interface IGalleryIndexBackend
{
    /// <summary>The <c>Icdiff:Index:Kind</c> value this backend answers to (<see cref="GalleryBackends"/>).</summary>
    string Kind { get; }

    /// <summary>The full name of the coordinator's grain class for this backend's indexes.</summary>
    string IndexGrainClass { get; }

    /// <summary>The backend as reports, the run record and the dashboard name it ("sharded, 8 partitions").</summary>
    string Describe(GalleryIndexOptions options);

    /// <summary>A worker's view of a sealed snapshot; cheap to call per shard (backends cache what they load).</summary>
    IGalleryIndex Open(GallerySnapshot snapshot, ModelManifest model);
}

/// <summary>The registered backends, by kind: the configured one for new indexes, and each snapshot's own for search.</summary>
public sealed class GalleryIndexBackends(IEnumerable<IGalleryIndexBackend> backends, Microsoft.Extensions.Options.IOptions<GalleryIndexOptions> options)
{
    private readonly Dictionary<string, IGalleryIndexBackend> _byKind = backends.ToDictionary(b => b.Kind, StringComparer.OrdinalIgnoreCase);

    /// <summary>The kinds this host can serve, for start-up checks and messages.</summary>
    public IReadOnlyCollection<string> Kinds => _byKind.Keys;

    /// <summary>The backend <c>Icdiff:Index:Kind</c> names.</summary>
    public IGalleryIndexBackend Configured => Of(options.Value.Kind);

    /// <summary>A worker's view of a sealed snapshot, through the backend that sealed it.</summary>
    public IGalleryIndex Open(GallerySnapshot snapshot, ModelManifest model) => Of(snapshot.Backend).Open(snapshot, model);

    public IGalleryIndexBackend Of(string kind) =>
        _byKind.TryGetValue(kind, out var backend)
            ? backend
            : throw new InvalidOperationException($"{GalleryIndexOptions.SectionName}:Kind '{kind}' has no backend on this silo (registered: {string.Join(", ", _byKind.Keys.Order(StringComparer.Ordinal))}).");
}

/// <summary>That a host composed the backend of <see cref="Kind"/>: known without building any backend, for start-up validation.</summary>
public sealed record GalleryIndexBackendKind(string Kind);

public static class GalleryIndexBackendRegistration
{
    /// <summary>Registers a gallery index backend for <paramref name="kind"/>: what each backend's AddXxxGalleryIndex calls.</summary>
    public static ISiloBuilder AddGalleryIndexBackend<TBackend>(this ISiloBuilder silo, string kind)
        where TBackend : class, IGalleryIndexBackend
    {
        silo.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IGalleryIndexBackend, TBackend>());
        silo.Services.AddSingleton(new GalleryIndexBackendKind(kind));
        return silo;
    }
}
