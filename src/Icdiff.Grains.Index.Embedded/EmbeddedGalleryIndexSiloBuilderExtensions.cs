using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Icdiff.Grains.Index.Embedded;

public static class EmbeddedGalleryIndexSiloBuilderExtensions
{
    /// <summary>Makes <c>Icdiff:Index:Kind=embedded</c> available on this silo (its grain class and the workers' file cache).</summary>
    public static ISiloBuilder AddEmbeddedGalleryIndex(this ISiloBuilder silo)
    {
        silo.AddGalleryIndexBackend<EmbeddedGalleryIndexBackend>(GalleryBackends.Embedded);
        return silo;
    }
}
