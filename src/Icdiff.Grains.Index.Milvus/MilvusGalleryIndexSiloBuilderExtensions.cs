using Icdiff.Index.Embedded;
using Icdiff.Index.Milvus;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains.Index.Milvus;

public static class MilvusGalleryIndexSiloBuilderExtensions
{
    /// <summary>
    /// Makes <c>Icdiff:Index:Kind=milvus</c> available on this silo. <c>Icdiff:Milvus</c> is bound always and validated
    /// only where the configured kind is milvus; the hosts also check the server answers at start (<see cref="MilvusStartupCheck"/>).
    /// </summary>
    public static ISiloBuilder AddMilvusGalleryIndex(this ISiloBuilder silo)
    {
        silo.AddGalleryIndexBackend<MilvusGalleryIndexBackend>(GalleryBackends.Milvus);
        silo.Services.AddOptions<MilvusOptions>()
            .BindConfiguration(MilvusOptions.SectionName)
            .Validate<IOptions<GalleryIndexOptions>>((milvus, index) => { if (index.Value.IsMilvus) { milvus.Validate(); } return true; })
            .ValidateOnStart();
        silo.Services.TryAddSingleton<MilvusConnection>();
        // One bound per silo on recently read gallery embeddings, shared with the other backends that read token segments.
        silo.Services.TryAddSingleton(sp => new TokenSegmentCache((long)sp.GetRequiredService<IOptions<GalleryIndexOptions>>().Value.TokenCacheMegabytes << 20));
        return silo;
    }
}
