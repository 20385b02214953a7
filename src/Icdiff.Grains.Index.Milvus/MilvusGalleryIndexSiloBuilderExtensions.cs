using Icdiff.Core;
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
            .ValidateOnStart();
        silo.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MilvusOptions>, MilvusOptionsValidator>());
        silo.Services.TryAddSingleton<MilvusConnection>();
        // One bound per silo on recently read gallery embeddings, shared with the other backends that read token segments.
        silo.Services.TryAddSingleton(sp => new TokenSegmentCache((long)sp.GetRequiredService<IOptions<GalleryIndexOptions>>().Value.TokenCacheMegabytes << 20));
        return silo;
    }
}

/// <summary>Milvus' settings matter, and are checked with all their problems at once, only where the index kind is milvus.</summary>
internal sealed class MilvusOptionsValidator(IOptions<GalleryIndexOptions> index) : IValidateOptions<MilvusOptions>
{
    public ValidateOptionsResult Validate(string? name, MilvusOptions options) =>
        index.Value.IsMilvus ? new SelfCheckingOptionsValidator<MilvusOptions>().Validate(name, options) : ValidateOptionsResult.Skip;
}
