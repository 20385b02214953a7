using Icdiff.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Icdiff.Corpora.FileSystem;

public static class FileSystemCorporaServiceCollectionExtensions
{
    public static IServiceCollection AddFileSystemCorpora(this IServiceCollection services)
    {
        services.AddSingleton<ICorpusSourceProvider, LocalFolderCorpusProvider>();
        services.AddSingleton<IContentReader, LocalFileContentReader>();
        return services;
    }
}
