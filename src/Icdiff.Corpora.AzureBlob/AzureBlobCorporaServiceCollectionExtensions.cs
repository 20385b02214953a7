using Icdiff.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Icdiff.Corpora.AzureBlob;

public static class AzureBlobCorporaServiceCollectionExtensions
{
    /// <summary>Registers az:// corpora and readers; options come from <see cref="BlobCorporaOptions.SectionName"/>.</summary>
    public static IServiceCollection AddAzureBlobCorpora(this IServiceCollection services)
    {
        services.AddOptions<BlobCorporaOptions>().BindConfiguration(BlobCorporaOptions.SectionName).ValidateAllProblemsOnStart();
        services.TryAddSingleton<BlobServiceClients>();
        services.AddSingleton<ICorpusSourceProvider, BlobCorpusProvider>();
        services.AddSingleton<IContentReader, BlobContentReader>();
        return services;
    }
}
