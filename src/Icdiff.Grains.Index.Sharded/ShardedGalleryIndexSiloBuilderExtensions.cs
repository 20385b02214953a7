using Icdiff.Index.Embedded;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains.Index.Sharded;

public static class ShardedGalleryIndexSiloBuilderExtensions
{
    /// <summary>
    /// Makes <c>Icdiff:Index:Kind=sharded</c> available on this silo: its grain classes (the index face on coordinators,
    /// the partitions on workers), the placement that spreads partitions over the worker silos, the workers' view.
    /// </summary>
    public static ISiloBuilder AddShardedGalleryIndex(this ISiloBuilder silo)
    {
        silo.AddGalleryIndexBackend<ShardedGalleryIndexBackend>(GalleryBackends.Sharded);
        silo.Services.AddPlacementDirector<IcdiffPartitionSpreadPlacement, PartitionSpreadPlacementDirector>();
        // One bound per silo on recently read gallery embeddings, shared with the other backends that read token segments.
        silo.Services.TryAddSingleton(sp => new TokenSegmentCache((long)sp.GetRequiredService<IOptions<GalleryIndexOptions>>().Value.TokenCacheMegabytes << 20));
        return silo;
    }
}
