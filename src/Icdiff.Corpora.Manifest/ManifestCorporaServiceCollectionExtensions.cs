using Icdiff.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Icdiff.Corpora.Manifest;

public static class ManifestCorporaServiceCollectionExtensions
{
    /// <summary>
    /// Registers manifest corpora. Register before the folder provider: the resolver asks providers in order and
    /// the folder provider takes any plain path.
    /// </summary>
    public static IServiceCollection AddManifestCorpora(this IServiceCollection services)
    {
        services.AddSingleton<ICorpusSourceProvider, ManifestCorpusProvider>();
        return services;
    }
}
