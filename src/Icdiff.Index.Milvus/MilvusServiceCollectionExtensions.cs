using Icdiff.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Icdiff.Index.Milvus;

public static class MilvusServiceCollectionExtensions
{
    /// <summary>Registers Milvus as the <see cref="ICandidateIndex"/>; options from <see cref="MilvusOptions.SectionName"/>, validated at start.</summary>
    public static IServiceCollection AddMilvusCandidateIndex(this IServiceCollection services)
    {
        services.AddOptions<MilvusOptions>().BindConfiguration(MilvusOptions.SectionName).ValidateAllProblemsOnStart();
        services.AddSingleton(sp => MilvusCandidateIndex.Create(sp.GetRequiredService<IOptions<MilvusOptions>>().Value));
        services.AddSingleton<ICandidateIndex>(sp => sp.GetRequiredService<MilvusCandidateIndex>());
        return services;
    }
}
